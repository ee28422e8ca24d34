"""Compiling search-box queries to FTS5 expressions: what is matched and what is marked."""

from __future__ import annotations

from search_index.fts5_expression import compile_query
from search_index.query_syntax import parse_query


def test_a_prefix_matches_and_marks_its_known_completions_as_plain_words() -> None:
    compiled = compile_query(parse_query("tender procur"), {}, ("procured", "procurement"))
    assert compiled.match == '"tender" AND ("procured" OR "procurement")'
    assert compiled.matches.prefixes == ()
    assert compiled.matches("procurement") and compiled.matches("tender")
    assert not compiled.matches("procuring")  # not in the index: nothing it could match


def test_a_prefix_without_known_completions_is_left_to_fts5_and_marked_as_a_prefix() -> None:
    compiled = compile_query(parse_query("tender procur"), {})
    assert compiled.match == '"tender" AND "procur"*'
    assert compiled.matches.prefixes == ("procur",)
    assert compiled.matches("procuring")
