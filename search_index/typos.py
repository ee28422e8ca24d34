"""Typo tolerance with Meilisearch's rules, for backends that expand words themselves.

A query word may differ from an indexed word by at most `allowed_typos(word)`
edits (insertion, deletion, substitution, or swapping two neighbours), and never
in its first letter.
"""

from __future__ import annotations

from collections.abc import Iterable

ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9


def allowed_typos(word: str) -> int:
    """How many typos a query word tolerates: 0 under 5 letters, 1 from 5, 2 from 9."""
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    if len(word) >= ONE_TYPO_FROM:
        return 1
    return 0


def suggestion_budget(word: str) -> int:
    """How far a "did you mean" suggestion may be from `word`: one typo more than a match."""
    if len(word) < 3:
        return 0
    return min(2, allowed_typos(word) + 1)


def distance(a: str, b: str, limit: int) -> int:
    """The Damerau-Levenshtein distance (adjacent swaps count as one edit) of `a` and `b`.

    Bounded: any distance above `limit` is reported as ``limit + 1``, and found
    out early, which keeps scanning a vocabulary cheap.
    """
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    too_far = limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        ai = a[i - 1]
        row_min = i
        for j in range(1, len(b) + 1):
            bj = b[j - 1]
            cost = 0 if ai == bj else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == bj:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            if value < row_min:
                row_min = value
        if row_min > limit:
            return too_far
        previous2, previous = previous, current
    return min(previous[len(b)], too_far)


def within_typos(word: str, candidate: str, limit: int | None = None) -> int | None:
    """The number of typos between `word` and `candidate`, or None when not allowed.

    The first letters must match; `limit` defaults to `allowed_typos(word)`.
    """
    budget = allowed_typos(word) if limit is None else limit
    if not word or not candidate or word[0] != candidate[0]:
        return None
    found = distance(word, candidate, budget)
    return found if found <= budget else None


def closest(
    word: str, vocabulary: Iterable[tuple[str, int]], limit: int | None = None, count: int = 8
) -> list[tuple[str, int]]:
    """The `count` vocabulary words nearest to `word`, as (word, typos).

    `vocabulary` yields (word, number of documents); nearer words come first,
    then more frequent ones. `word` itself is left out.
    """
    budget = allowed_typos(word) if limit is None else limit
    letters = set(word)
    found: list[tuple[int, int, str]] = []
    for candidate, frequency in vocabulary:
        if candidate == word or not candidate or candidate[0] != word[0]:
            continue
        # Each edit adds or removes at most one distinct letter: a cheap test
        # that rules out most of a vocabulary before the quadratic one.
        other = set(candidate)
        if len(letters - other) > budget or len(other - letters) > budget:
            continue
        typos = distance(word, candidate, budget)
        if typos <= budget:
            found.append((typos, -frequency, candidate))
    found.sort()
    return [(candidate, typos) for typos, _, candidate in found[:count]]
