import pytest

from search_index.typos import allowed_typos, closest, distance, within_typos


@pytest.mark.parametrize(("word", "typos"), [
    ("bond", 0), ("bonds", 1), ("actuary", 1), ("pensions", 1),
    ("procurement", 2), ("guarantee", 2),
])
def test_the_typo_budget_follows_meilisearch(word: str, typos: int) -> None:
    assert allowed_typos(word) == typos


def test_a_swap_of_neighbours_is_one_edit() -> None:
    assert distance("pension", "pensoin", 2) == 1
    assert distance("kitten", "sitting", 5) == 3
    assert distance("kitten", "sitting", 1) == 2  # bounded: "more than 1"


def test_the_first_letter_must_match() -> None:
    assert within_typos("pension", "tension") is None
    assert within_typos("pension", "pensiom") == 1


def test_closest_prefers_fewer_typos_then_more_frequent_words() -> None:
    vocabulary = [
        ("contact", 50), ("contracts", 5), ("contrast", 80), ("contract", 9), ("zebra", 1),
    ]
    assert closest("contract", vocabulary) == [("contrast", 1), ("contact", 1), ("contracts", 1)]
    assert closest("contrakt", vocabulary, count=2) == [("contrast", 1), ("contract", 1)]
    assert closest("kontract", vocabulary) == []
