"""Finished HTML blocks kept out of Python-Markdown's way.

A generated page is mostly HTML that Jinja has already escaped (headers, note tabs, the
library tables). Left in the markdown, Python-Markdown re-reads every tag of it
(``md_in_html`` parses each raw block to look for ``markdown="1"``) only to copy it out
unchanged, and at 1,000 entries that is a large share of the build. Instead a template
puts such a block through the ``html_block`` filter: the page's markdown gets a one-line
comment in its place, and :func:`restore` puts the block back into the HTML mkdocs made.

The comment names a random per-process token, so no catalog text can forge one (catalog
strings reach a page escaped, notes lose comments in the sanitiser, code is shown escaped).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

_TOKEN = secrets.token_hex(8)
_PLACEHOLDER = re.compile(rf"<!--pkb-html-{_TOKEN}-(\d+)-->")
CONTEXT_KEY = "_html_blocks"  # the render() argument holding the page's list of blocks


def placeholder(index: int) -> str:
    return f"<!--pkb-html-{_TOKEN}-{index}-->"


@pass_context
def html_block(context: Context, value: object) -> Markup:
    """Jinja filter: keep ``value`` (escaped unless it is Markup) aside, leave its placeholder.

    Without a block list in the render call (a caller that wants plain markdown), the
    block stays in place.
    """
    html = str(escape(value))
    blocks = context.get(CONTEXT_KEY)
    if blocks is None:
        return Markup(html)
    # The newlines around the block stay in the markdown: they keep it a block of its own.
    core = html.strip("\n")
    if not core:
        return Markup(html)
    start = html.index(core)
    blocks.append(core)
    return Markup(html[:start] + placeholder(len(blocks) - 1) + html[start + len(core) :])


def restore(text: str, blocks: list[str] | Mapping[int, str]) -> str:
    """``text`` (a page's HTML, or its markdown) with every placeholder replaced by its block."""
    if not blocks:
        return text
    return _PLACEHOLDER.sub(lambda m: blocks[int(m.group(1))], text)
