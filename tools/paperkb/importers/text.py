"""Note text clean-up: language, figures whose files are absent, formulas and code as code blocks."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

from .record import URL

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*(" + URL + r"(?:\s+\"[^\"]*\")?)\s*\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*?>", re.I)
_HTML_ATTR = re.compile(r"""(\w+)\s*=\s*("[^"]*"|'[^']*'|\S+)""")
_HTML_WRAPPER = re.compile(r"</?(?:div|center|p|span)\b[^>]*>|<br\s*/?>", re.I)
_MD_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(\s*(" + URL + r")\s*\)")
_HEADING = re.compile(r"^(\s*)#{1,6}\s*(.+?)\s*#*\s*$")
_PLACEHOLDER_ALT = re.compile(r"^(untitled(\s+\d+)?|image|img|screen ?shot.*|.*\.(png|jpe?g|gif|svg|webp))$", re.I)
FIGURE_NOTE = "*(figure not included)*"


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def language(text: str) -> str:
    """'zh' when Chinese carries the text, else 'en'.

    Chinese notes are full of English terms ('pretrained model的数据集domain'), so
    characters are weighed against whole Latin words rather than letters; mixed text
    goes wherever its Chinese outweighs its English, in one piece.
    """
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= words else "en"


def is_remote(src: str) -> bool:
    return src.startswith(("http://", "https://"))


def local_exists(src: str, base: Path | None) -> bool:
    if is_remote(src) or base is None or not src:
        return False
    from urllib.parse import unquote

    return (base / unquote(src.split("#")[0])).is_file()


def _caption(alt: str, src: str) -> str | None:
    """The caption worth keeping: real alt text, else a file name made of several words."""
    alt = alt.strip()
    if alt and not _PLACEHOLDER_ALT.match(alt):
        return alt
    stem = Path(src.split("?")[0]).stem
    words = [w for w in re.split(r"[_\-\s]+", stem) if w]
    if len(words) >= 2 and not re.match(r"(?i)^(untitled|screen)", stem):
        return " ".join(words)
    return None


def _figure(alt: str, src: str) -> str:
    caption = _caption(alt, src)
    return f"*(figure: {caption})*" if caption else FIGURE_NOTE


def replace_images(text: str, base: Path | None) -> str:
    """Local images that are absent become their caption; remote images stay."""

    def md(match: re.Match[str]) -> str:
        alt, src = match.group(1), match.group(2).split(" ")[0]
        if is_remote(src) or local_exists(src, base):
            return match.group(0)
        return _figure(alt, src)

    def html(match: re.Match[str]) -> str:
        attrs = {k.lower(): v.strip("\"'").strip() for k, v in _HTML_ATTR.findall(match.group(0))}
        src, alt = attrs.get("src", ""), attrs.get("alt", "") or attrs.get("title", "")
        if is_remote(src):
            return f"![{alt}]({src})"
        return _figure(alt, src)

    return _MD_IMAGE.sub(md, _HTML_IMAGE.sub(html, text))


def replace_missing_links(text: str, base: Path | None) -> str:
    """A link to a local page that is not there keeps its text and loses the link."""

    def sub(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if is_remote(target) or target.startswith(("mailto:", "#")) or local_exists(target, base):
            return match.group(0)
        return label

    return _MD_LINK.sub(sub, text)


_CODE_START = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\s|[\w.\[\]]+\s*=[^=]|[\w.]+\(.*\)\s*;?\s*$)")
_PLAIN_WORD = re.compile(r"^[A-Za-z]+[,.;:]?$")


def looks_like_code(line: str) -> bool:
    """A formula or a line of code: no Chinese, operators or calls, more symbols than prose."""
    stripped = line.strip()
    if not stripped or has_cjk(stripped) or stripped.startswith(("-", "*", "#", ">", "!", "[", "`")):
        return False
    if _CODE_START.match(stripped):
        return True
    tokens = stripped.split()
    plain = sum(1 for t in tokens if _PLAIN_WORD.match(t))
    symbols = sum(stripped.count(c) for c in "()=|*+/<>[]{}")
    formula = "=" in stripped or re.search(r"\w\(", stripped) is not None
    return symbols >= 3 and formula and plain * 2 <= len(tokens) and not stripped.endswith(".")


def _fence(lines: list[str]) -> list[str]:
    body = "\n".join(line.strip() for line in lines)
    try:
        ast.parse(body)
        # 'AReLU : f = max(…)' parses as an annotated assignment, but it is a formula
        lang = "text" if re.search(r"(?m)^\s*\w+\s+:\s", body) else "python"
    except SyntaxError:
        lang = "text"
    return [f"```{lang}", *[line.strip() for line in lines], "```"]


def fence_code(text: str, is_code: Callable[[str], bool] = looks_like_code) -> str:
    """Wrap runs of code-like lines in fenced blocks; lines already fenced stay as they are."""
    out: list[str] = []
    run: list[str] = []
    in_fence = False

    def flush() -> None:
        if run:
            if out and out[-1].strip():
                out.append("")
            out.extend(_fence(run))
            out.append("")
            run.clear()

    for line in text.split("\n"):
        if line.strip().startswith("```"):
            flush()
            in_fence = not in_fence
            out.append(line)
            continue
        if not in_fence and is_code(line):
            run.append(line)
            continue
        if run and not line.strip():
            continue  # blank lines between formula lines belong to the same block
        flush()
        out.append(line)
    flush()
    return "\n".join(out)


def dedent(lines: list[str]) -> list[str]:
    widths = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(widths) if widths else 0
    return [line[cut:] if line.strip() else "" for line in lines]


def headings_to_bold(text: str) -> str:
    """A heading inside one entry's note would break the page's outline; make it a bold line."""
    return "\n".join(
        f"{m.group(1)}**{m.group(2).strip()}**" if (m := _HEADING.match(line)) else line for line in text.split("\n")
    )


def _one_placeholder_per_run(text: str) -> str:
    """Several absent figures in a row say no more than one.

    A placeholder keeps its indentation only inside a list: anywhere else an
    indented line would turn into a code block.
    """
    out: list[str] = []
    last = ""
    list_indents: list[int] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and stripped.replace(FIGURE_NOTE, "").strip() == "":
            if last == FIGURE_NOTE:
                continue
            indent = len(line) - len(line.lstrip())
            keep = any(i < indent for i in list_indents)
            line = (" " * indent if keep else "") + FIGURE_NOTE
            stripped = FIGURE_NOTE
        elif re.match(r"^\s*([-*+]|\d+\.)\s", line):
            list_indents.append(len(line) - len(line.lstrip()))
        if stripped:
            last = stripped
        out.append(line)
    return "\n".join(out)


_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+\.)\s+(.*)$")


def normalize_lists(text: str) -> str:
    """Nested lists at 4 spaces a level, with a blank line before a list that follows a paragraph.

    Note apps nest by 2 spaces and start lists right under a sentence; Python-Markdown
    (the site's renderer) would flatten the first and swallow the second into the paragraph.
    """
    out: list[str] = []
    stack: list[int] = []  # source indentation of each open list level
    prev = ""  # "list", "text" or "" (blank / start)
    for line in text.split("\n"):
        item = _LIST_ITEM.match(line)
        if item:
            indent = len(item.group(1))
            while stack and stack[-1] > indent:
                stack.pop()
            if not stack or stack[-1] < indent:
                stack.append(indent)
            if prev == "text":
                out.append("")
            out.append(" " * 4 * (len(stack) - 1) + f"{item.group(2)} {item.group(3)}")
            prev = "list"
        elif not line.strip():
            out.append("")
            prev = ""
        elif stack and line[:1].isspace():
            indent = len(line) - len(line.lstrip())
            level = sum(1 for i in stack if i < indent)  # content of the deepest item it sits under
            out.append(" " * 4 * level + line.lstrip())
            prev = "list" if prev == "list" else "text"
        else:
            stack = []
            out.append(line)
            prev = "text"
    return "\n".join(out)


def clean_notes(lines: list[str], base: Path | None) -> str:
    """Raw note lines → markdown ready for `notes.en`/`notes.zh`."""
    text = "\n".join(dedent([line.rstrip() for line in lines]))
    text = replace_images(text, base)
    text = _HTML_WRAPPER.sub("", text)
    text = replace_missing_links(text, base)
    text = headings_to_bold(text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = "\n".join(dedent(text.split("\n")))
    text = normalize_lists(text)
    text = fence_code(text)
    text = _one_placeholder_per_run(text)
    text = re.sub(r"\n[ \t]*\n(\s*\n)+", "\n\n", text).strip()
    if text.replace(FIGURE_NOTE, "").strip() == "":
        return ""
    return text
