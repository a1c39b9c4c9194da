"""Brand world data: table contracts (schemas), the validating loader and the audit tables."""

from imclab.data.load import TableReport, ValidationReport, World, load_world
from imclab.data.quarantine import QUARANTINE_COLUMNS, write_quarantine
from imclab.data.schemas import OPTIONAL_TABLES, REQUIRED_TABLES, SCHEMAS, TABLES

__all__ = [
    "OPTIONAL_TABLES",
    "QUARANTINE_COLUMNS",
    "REQUIRED_TABLES",
    "SCHEMAS",
    "TABLES",
    "TableReport",
    "ValidationReport",
    "World",
    "load_world",
    "write_quarantine",
]
