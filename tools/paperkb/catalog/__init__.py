"""catalog.yaml → entries: loading, validation, and cheap cached summaries."""

from .load import CatalogError, catalog_from_text, load_catalog, read_catalog
from .model import KINDS, STATUSES, Catalog, Entry, Tag
from .validate import Problem, Report, validate

__all__ = [
    "KINDS",
    "STATUSES",
    "Catalog",
    "CatalogError",
    "Entry",
    "Problem",
    "Report",
    "Tag",
    "catalog_from_text",
    "load_catalog",
    "read_catalog",
    "validate",
]
