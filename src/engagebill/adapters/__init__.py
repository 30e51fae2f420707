"""Adapters: the only code that knows SQLAlchemy, SMTP, PDF, XML and files.

They implement the ports declared in ``engagebill.services.ports``.
"""
