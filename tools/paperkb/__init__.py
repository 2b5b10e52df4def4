"""paperkb: a paper-notes knowledge base built from ``catalog.yaml``.

Flow: ``catalog.yaml`` → :mod:`paperkb.catalog` (load + validate) → entries →
:mod:`paperkb.sitegen` (pages) | search index | bib.
"""
