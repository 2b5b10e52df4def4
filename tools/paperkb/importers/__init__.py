"""Importers: note files and BibTeX exports → catalog entries (parse, match, merge, write)."""
