from search_index.tokens import ascii_words, distinct_words, spans, tokenize, words_of

TEXTS = [
    "Co-op's café: TUPE_transfer (2024) & LGPS/admitted-body!",
    "plain ascii words, with 42 numbers and under_scores",
    "Ünïcödé naïve façade — résumé",
    "Re: the “deficit” was £40k… or so – we’d say",
    "Combining marks: cafe\u0301 and coo\u0308perative…",
    "Other scripts… Ελληνικά and numerals ٣ in words",
    "",
]


def test_words_of_agrees_with_tokenize_on_ascii_and_unicode_text() -> None:
    for text in TEXTS:
        assert words_of(text) == tokenize(text)


def test_distinct_words_are_the_set_of_tokenize_on_ascii_and_unicode_text() -> None:
    for text in TEXTS:
        assert distinct_words(text) == set(tokenize(text))


def test_a_range_of_spans_is_the_same_slice_of_all_spans() -> None:
    for text in TEXTS:
        every = spans(text)
        assert spans(text, 2, 5) == every[2:5]
        for start, end, word in every:
            assert tokenize(text[start:end]) == [word]


def test_only_text_whose_words_are_all_ascii_takes_the_ascii_paths() -> None:
    assert ascii_words("plain") and ascii_words("Re: a deficit… £40k – “quoted”")
    assert not ascii_words("café") and not ascii_words("cafe\u0301")
    assert not ascii_words("numerals ٣") and not ascii_words("Ελληνικά…")
