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
