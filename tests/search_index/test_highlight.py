import pytest

from search_index import highlight as highlight_module
from search_index.highlight import Matches, highlight, snippet


def test_text_is_escaped_before_words_are_marked() -> None:
    matches = Matches(frozenset({"script", "bond"}))
    assert highlight('<script>x</script> "bond" & co', matches) == (
        "&lt;<mark>script</mark>&gt;x&lt;/<mark>script</mark>&gt; "
        "&quot;<mark>bond</mark>&quot; &amp; co"
    )


def test_diacritics_and_case_do_not_stop_a_mark() -> None:
    assert highlight("Le Café", Matches(frozenset({"cafe"}))) == "Le <mark>Café</mark>"


def test_a_prefix_marks_whole_words() -> None:
    marked = highlight("Pensions advice", Matches(prefixes=("pens",)))
    assert marked == "<mark>Pensions</mark> advice"


def test_a_phrase_is_marked_only_where_it_occurs_whole() -> None:
    matches = Matches(phrases=(("parent", "company", "guarantee"),))
    assert highlight("parent company guarantee", matches).count("<mark>") == 3
    assert highlight("the parent company paid", matches) == "the parent company paid"


def test_a_snippet_shows_the_passage_with_the_matches_and_ellipses() -> None:
    text = " ".join(f"w{n}" for n in range(100)) + " bond " + " ".join(f"x{n}" for n in range(100))
    passage = snippet(text, Matches(frozenset({"bond"})), size=10)
    assert passage.startswith("\u2026 w96 w97 w98 w99 <mark>bond</mark> x0")
    assert passage.endswith(" \u2026")


def test_a_snippet_without_a_match_is_the_beginning() -> None:
    assert snippet("one two   three\nfour", Matches(), size=3) == "one two three \u2026"


TEXTS = [
    'Re: "Bond" & the <b>TUPE</b> deal\u2026 pension\u2019s   scheme',
    "Pensions: parent company guarantee, then the parent company paid. Bond-holders' bonds.",
    "  leading space, trailing space  ",
    "control \x01bond\x02 characters <mark>bond</mark>",
    "Valued values: the value of a bond, valuation bonds and Bond.",
    "word",
    "",
]
MATCHES = [
    Matches(frozenset({"bond", "tupe"})),
    Matches(frozenset({"pension"}), prefixes=("bon",)),
    Matches(phrases=(("parent", "company", "guarantee"),)),
    Matches(frozenset({"nothing"})),
    Matches(frozenset({"value", "bond"}), prefixes=("val", "valu")),
    # More words than are looked for one by one: a prefix's completions.
    Matches(frozenset({"valued", "values", "value", "valuation", "validate", "valid",
                       "valley", "valve", "bonds", "leading"})),
    # Words no search makes (empty, with a space) take the word-by-word path.
    Matches(frozenset({"", "bond", "parent company", "q1", "q2", "q3", "q4", "q5", "q6", "q7"}),
            prefixes=("va ",)),
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("matches", MATCHES)
def test_text_with_ascii_words_is_marked_as_the_word_by_word_path_marks_it(
    text: str, matches: Matches, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Text whose words are ASCII takes a quicker path: it must mark the same words."""
    quick = (highlight(text, matches), snippet(text, matches, size=6))
    monkeypatch.setattr(highlight_module, "ascii_words", lambda text: False)
    assert quick == (highlight(text, matches), snippet(text, matches, size=6))
