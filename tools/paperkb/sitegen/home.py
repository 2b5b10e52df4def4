"""The marker the hand-written home page (docs/index.md) leaves for the counts."""

from __future__ import annotations

COUNTS_MARKER = "<!-- paperkb:counts -->"
