"""The quick paths a large catalog takes give exactly what the general ones give:
the one-walk constructor against PyYAML's, the marker screen against the pattern
run on every line."""

from __future__ import annotations

import gc
import re
import sys

import pytest
import yaml
from conftest import GOOD_ENTRY, HEADER
from hypothesis import given, settings
from hypothesis import strategies as st
from paperkb.catalog import catalog_from_text, markers, read_catalog, yamlsafe

DOCUMENTS = [
    "a: 1\nb: -2\nc: +3\nd: 0\n",
    "n: 1_000\nh: 0x10\no: 0o17\ns: 33:37\nold: 017\n",  # YAML 1.1 forms stay text
    "f: 1.5\ng: .inf\nh: -.Inf\ni: .nan\nj: 1e3\nk: 6.8523015e+5\n",
    "t: true\nu: yes\nv: Off\nw: ~\nx: null\ny:\nz: ''\n",
    "d: 2026-01-01\nt: 2001-12-14t21:59:43.10-05:00\n",
    "1: int key\n~: null key\ntrue: bool key\n1.5: float key\n2026-01-01: date key\n",
    "s: [a, 'b', \"c\", [1, [2, {x: y}]], {}, []]\nm: {a: {b: {c: [d]}}}\n",
    "notes: |\n  two lines\n  here\nfolded: >-\n  one\n  line\n",
    "a: 1\nb: 2\na: 3\n",  # duplicates: last value wins, both lines reported
    "x: {a: 1, a: 2}\ny: [{b: 1, b: 2}, {c: 1, c: 2}]\n",  # several on one line
    "'1': one\n1: also one\n",  # the same text, two types
    "- 1\n- two\n- [3]\n",
    "just a scalar\n",
    "k: !!str 12\nl: !!int '7'\nm: !!float '2'\nn: !!bool 'yes'\no: !!null ''\n",
]
GENERAL_ONLY = [
    "base: &b {x: 1}\nother: *b\n",  # an alias
    "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",  # a merge key
    "? [a, b]\n: complex key\n",
    "s: !!set {a, b}\n",
    "o: !!omap [a: 1]\n",
    "b: !!binary aGk=\n",
    "= : value key\n",
    "x: &a text\ny: *a\n",
    "deep: " + "[" * 70 + "]" * 70 + "\n",
]


def _general(text: str) -> tuple[object, list[yamlsafe.DuplicateKey]]:
    loader = yamlsafe._Loader(text)
    try:
        node = loader.get_single_node()
        return loader.construct_document(node), yamlsafe.find_duplicate_keys(node)
    finally:
        loader.dispose()


def _plain(text: str, may_alias: bool = True) -> tuple[object, list[yamlsafe.DuplicateKey]] | None:
    loader = yamlsafe._Loader(text)
    try:
        return yamlsafe.construct_plain(loader, loader.get_single_node(), may_alias=may_alias)
    finally:
        loader.dispose()


def _typed(value: object) -> object:
    """``value`` with every scalar paired with its type (1 == True == 1.0 in Python)."""
    if isinstance(value, dict):
        return [(_typed(k), _typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float) and value != value:
        return (float, "nan")
    return (type(value), value)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_one_walk_constructor_gives_what_pyyaml_gives(text):
    built = _plain(text, may_alias="&" in text)
    assert built is not None
    data, duplicates = built
    expected_data, expected_duplicates = _general(text)
    assert _typed(data) == _typed(expected_data)
    assert duplicates == expected_duplicates


@pytest.mark.parametrize("text", GENERAL_ONLY)
def test_aliases_merge_keys_odd_keys_and_tags_take_the_general_path(text):
    assert _plain(text) is None


def test_general_path_still_refuses_an_alias_bomb():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    with pytest.raises(yamlsafe.YamlSyntaxError, match="aliases expand too far"):
        yamlsafe.parse_checked(bomb)


scalars = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["yes", "No", "~", "null", "0x1F", "1_0", "-0", "+7", "1.0", ".5", "1e2", "2026-02-30",
                     "2026-01-01", "=", "<<", "true", "", " a", "a #b", "- x", "'q'"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
trees = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(scalars, kids, max_size=4),
                     max_leaves=25)


@settings(max_examples=150, deadline=None)
@given(trees, st.booleans())
def test_random_documents_construct_as_pyyaml_constructs_them(tree, flow):
    try:
        text = yaml.safe_dump({"doc": tree}, default_flow_style=flow, allow_unicode=True)
    except yaml.YAMLError:
        return
    try:
        expected = _general(text)
    except yaml.YAMLError:
        return
    built = _plain(text, may_alias="&" in text)
    if built is None:  # a key PyYAML reads as something unhashable or odd: the general path
        return
    assert _typed(built[0]) == _typed(expected[0])
    assert built[1] == expected[1]


def test_collections_are_paused_while_loading_and_resumed_after():
    assert gc.isenabled()
    with yamlsafe.paused_gc():
        assert not gc.isenabled()
        with yamlsafe.paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), yamlsafe.paused_gc():
        raise ValueError
    assert gc.isenabled()


def _every_line(text: str) -> tuple[int, str] | None:
    """The marker check as it was: the full pattern on every line."""
    for number, line in enumerate(text.splitlines()):
        match = markers._MARKER.search(line)
        if match:
            return number, match.group(0)
    return None


MARKER_TEXTS = [
    "",
    "\n\n",
    "plain notes about image translation and added noise\n",
    "a\nTranslated  From the Chinese\n",
    "x\u2028machine translated",
    "first\rsecond (ADDED)\r\nthird",
    "Editor's note: none",
    "（译注：据英文笔记补写）",
    "第一行\n不需要。（译注：据英文笔记补写）",
    "line\x85translation of the english notes",
    "transla\nted from",  # split across lines: no marker
    "translation\nof the chinese notes",
    "TRANSLATION OF THE AUTHOR'S NOTES",
    "translation\u00a0of\u3000the chinese notes",  # Unicode spaces are \s
    "ſ: translated from",  # the letters IGNORECASE folds to ASCII
    "\u017fome text Tran\u017flated from x",
    "\u0130 translated from",
    "K",
    "auto-translated",
    "( 补充 )",
    "[ added ]",
    "added by the editor",
    "中文 machine-translation of something",
]


@pytest.mark.parametrize("text", MARKER_TEXTS)
def test_the_marker_screen_finds_what_the_pattern_finds(text):
    assert markers.find_marker(text) == _every_line(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["translated", "Translation", " of", " the", " chinese", " notes", "from", " ",
                                 "\n", "\r", "\u2028", "\u00a0", "(", "added", ")", "machine", "-", "editor's",
                                 " note", "译注", "：", "据英文笔记", "（", "补充", "）", "ſ", "K", "İ", "x", "中"]),
                max_size=20))
def test_random_texts_get_the_same_marker_as_every_line_searched(words):
    text = "".join(words)
    assert markers.find_marker(text) == _every_line(text)


def test_the_only_non_ascii_letters_ignorecase_matches_with_ascii_ones_are_screened():
    letter = re.compile("[a-z]", re.I)
    folding = {c for c in map(chr, range(128, sys.maxunicode + 1)) if letter.fullmatch(c)}
    assert folding == set(markers._FOLDS_TO_ASCII)


@pytest.mark.parametrize("as_bytes", [True, False])
def test_a_refused_character_after_chinese_text_names_its_own_line(as_bytes):
    text = "a: 生成对抗网络生成对抗网络\nb: 风格迁移\nc: x\x07\nd: y\n"  # libyaml counts bytes, not characters
    with pytest.raises(yamlsafe.YamlSyntaxError) as caught:
        yamlsafe.parse_checked(text.encode("utf-8") if as_bytes else text)
    assert caught.value.line == 3 and "U+0007" in caught.value.message


def test_read_catalog_gives_the_same_catalog_as_its_text(tmp_path):
    text = HEADER + GOOD_ENTRY.replace("status: read", "status: read\n    status: unread")
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    from_file, from_text = read_catalog(path), catalog_from_text(text, path)
    assert from_file.data == from_text.data
    assert from_file.duplicate_keys == from_text.duplicate_keys != []
    assert [e.line for e in from_file.entries] == [e.line for e in from_text.entries]


PLAIN = ["yes", "No", "~", "null", "", "0x10", "1_000", "-7", "1.5", ".nan", "2026-01-01", "=", "<<", "true", "a"]


def test_remembered_plain_scalar_tags_are_the_resolvers_tags():
    text = "".join(f"- {s}\n" if s else "- \n" for s in PLAIN)
    expected = yaml.compose(text, Loader=yaml.SafeLoader)  # PyYAML's own resolver, nothing remembered
    for _ in range(2):  # the second parse reads the remembered tags
        loader = yamlsafe._Loader(text)
        node = loader.get_single_node()
        loader.dispose()
        assert [n.tag for n in node.value] == [n.tag for n in expected.value]
