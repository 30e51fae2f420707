"""engagebill: a billing engine for agencies and professional-services firms.

One engagement, one invoice, one PO: retainers, milestone projects and change orders are
billed on separate invoices with their own lifecycle, numbers and audit trail.
"""

__version__ = "0.1.0"
