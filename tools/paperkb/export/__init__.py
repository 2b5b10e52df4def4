"""The catalog as BibTeX, JSON and CSV (``tools/export.py`` and the site build)."""

from .bib import bib_key, to_bibtex
from .formats import EXPORT_FIELDS, select, to_csv, to_json

__all__ = ["EXPORT_FIELDS", "bib_key", "select", "to_bibtex", "to_csv", "to_json"]
