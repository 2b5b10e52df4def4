"""The counts shown on the hand-written home page (docs/index.md)."""

from __future__ import annotations

COUNTS_MARKER = "<!-- paperkb:counts -->"


def render_counts(counts: dict[str, int]) -> str:
    return (
        "| Entries | Papers | Tricks | Tags | Read | Reading | Unread | With refimpl |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {counts['entries']} | {counts['papers']} | {counts['tricks']} | {counts['tags']} "
        f"| {counts['read']} | {counts['reading']} | {counts['unread']} | {counts['with_refimpl']} |\n"
    )
