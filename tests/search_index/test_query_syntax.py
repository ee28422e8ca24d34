import pytest

from search_index.backend import MAX_QUERY_LENGTH
from search_index.query_syntax import MAX_QUERY_WORDS, Part, parse_query


def test_words_phrases_and_exclusions_are_told_apart() -> None:
    parsed = parse_query('LGPS "tender bond" -Café council')
    assert parsed.parts == (
        Part("words", ("lgps",)), Part("phrase", ("tender", "bond")),
        Part("exclude", ("cafe",)), Part("words", ("council",)),
    )
    assert parsed.last_word == "council"


def test_a_trailing_space_or_quote_ends_the_prefix() -> None:
    assert parse_query("pension ").last_word is None
    assert parse_query('"pension"').last_word is None
    assert parse_query("pension").last_word == "pension"


@pytest.mark.parametrize("text", ["", "  ", "!!!", '"', '""', "- -", "-tupe"])
def test_nothing_to_look_for_is_an_empty_query(text: str) -> None:
    assert parse_query(text).is_empty


def test_long_queries_are_cut_to_the_length_and_word_limits() -> None:
    assert len(parse_query("x" * (MAX_QUERY_LENGTH + 50)).words[0]) == MAX_QUERY_LENGTH
    assert len(parse_query("word " * 50).words) == MAX_QUERY_WORDS


def test_replacing_words_keeps_the_rest_of_the_query() -> None:
    parsed = parse_query('bnod "tender bond" -tupe')
    assert parsed.replace_words({"bnod": "bond"}).text() == 'bond "tender bond" -tupe'
