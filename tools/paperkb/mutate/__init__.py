"""Mutation testing for ``refimpl/``: inject plausible one-line bugs, run the module's tests.

``operators`` finds the mutants (an AST walk that rewrites one source segment each),
``runner`` runs the tests against each mutant in a scratch copy of the repository, and
``report`` writes ``refimpl/mutation/<module>.json`` and prints the table.
"""
