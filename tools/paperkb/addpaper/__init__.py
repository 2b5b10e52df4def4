"""Adding a paper to the catalog: identifier → metadata → checked entry → atomic write.

Modules: :mod:`.ids` (identifier forms, proposed ids), :mod:`.arxiv` and
:mod:`.crossref` (lookups over an injected HTTP function), :mod:`.layout` and
:mod:`.insert` (textual insert, checks, atomic write under the lock),
:mod:`.splice` (atomic edits of a large file), :mod:`.scaffold` (refimpl module
and test, pending), :mod:`.prompts` (terminal questions, ``$EDITOR``),
:mod:`.cli` (``tools/add_paper.py``).
"""
