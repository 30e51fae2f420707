"""Printed documents: the PDF of an issued invoice version or credit note (``pdf``)."""
