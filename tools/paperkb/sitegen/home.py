"""The counts shown on the hand-written home page (docs/index.md)."""

from __future__ import annotations

COUNTS_MARKER = "<!-- paperkb:counts -->"


def render_counts(counts: dict[str, int]) -> str:
    return (
        '<div class="pkb-counts" markdown>\n\n'
        f"**{counts['entries']}** entries: **{counts['papers']}** papers and **{counts['tricks']}** tricks "
        f"in **{counts['tags']}** tags · "
        f"**{counts['read']}** read, **{counts['reading']}** reading, **{counts['unread']}** unread · "
        f"**{counts['with_refimpl']}** with a tested reference implementation\n\n"
        "</div>\n"
    )
