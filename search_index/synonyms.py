"""The domain glossary: wordings that mean the same thing, shared by every backend.

Searching for either wording finds both: "LGPS" finds "Local Government Pension
Scheme" and the other way round. Terms are compared folded (see `tokens`), so
case, diacritics and punctuation do not matter: "co-op" is the phrase "co op".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from search_index.tokens import normalize_phrase

# Each group lists equivalent wordings; the first is the one to display.
GLOSSARY: tuple[tuple[str, ...], ...] = (
    # TUPE and pensions
    ("TUPE", "transfer of undertakings"),
    ("ELI", "employee liability information"),
    ("LGPS", "Local Government Pension Scheme"),
    ("NHS Pension Scheme", "NHSPS"),
    ("admitted body", "admission agreement"),
    ("Fair Deal", "New Fair Deal"),
    ("broadly comparable", "broad comparability"),
    ("GAD", "Government Actuary's Department"),
    # Legal form and governance
    ("public service mutual", "public services mutual", "PSM"),
    ("EOT", "employee ownership trust"),
    ("EBT", "employee benefit trust"),
    ("CIC", "community interest company"),
    ("CBS", "community benefit society", "bencom"),
    ("IPS", "industrial and provident society"),
    ("co-operative", "cooperative", "co-op", "coop"),
    ("staff council", "employee council"),
    ("SPV", "special purpose vehicle"),
    ("JV", "joint venture"),
    ("MoU", "memorandum of understanding"),
    # Procurement and contracts
    ("PCG", "parent company guarantee"),
    ("tender bond", "bid bond"),
    ("Social Value Act", "Public Services (Social Value) Act"),
    ("ITT", "invitation to tender"),
    ("PQQ", "pre-qualification questionnaire", "SQ", "selection questionnaire"),
    ("OJEU", "Official Journal of the European Union"),
    ("SLA", "service level agreement"),
    ("KPI", "key performance indicator"),
    ("SME", "small and medium-sized enterprise", "small and medium enterprise"),
    ("VCSE", "voluntary, community and social enterprise"),
    # Business case, regulators and commissioners
    ("options appraisal", "option appraisal"),
    ("SROI", "social return on investment"),
    ("CQC", "Care Quality Commission"),
    ("ICB", "integrated care board"),
    ("CCG", "clinical commissioning group"),
)


@cache
def _index() -> dict[str, frozenset[str]]:
    """Every folded wording -> its whole group (folded)."""
    index: dict[str, frozenset[str]] = {}
    for group in GLOSSARY:
        members = frozenset(normalize_phrase(term) for term in group)
        for member in members:
            if member in index:
                raise ValueError(f"glossary term {member!r} is in two groups")
            index[member] = members
    return index


@cache
def longest_term() -> int:
    """The number of words in the glossary's longest wording."""
    return max(len(term.split()) for term in _index())


@cache
def _first_words() -> frozenset[str]:
    """The words the glossary's wordings start with."""
    return frozenset(term.split()[0] for term in _index())


def groups() -> list[frozenset[str]]:
    """Every group of equivalent wordings, folded."""
    return list(dict.fromkeys(_index().values()))


def expand(term: str) -> set[str]:
    """`term` and every equivalent wording, folded; just `term` (folded) when unknown."""
    key = normalize_phrase(term)
    if not key:
        return set()
    return set(_index().get(key, (key,)))


def synonyms_of(term: str) -> set[str]:
    """The other wordings of `term` (folded); empty when it has none."""
    key = normalize_phrase(term)
    return expand(key) - {key}


def find_terms(words: Sequence[str]) -> list[tuple[int, int, frozenset[str]]]:
    """Glossary wordings in a sequence of folded words, longest first, left to right.

    Returns (start, end, group) for each, not overlapping: ``words[start:end]``
    is one of the group's wordings.
    """
    index, firsts = _index(), _first_words()
    found: list[tuple[int, int, frozenset[str]]] = []
    start = 0
    while start < len(words):
        if words[start] not in firsts:  # most words start no wording: one set look-up
            start += 1
            continue
        for end in range(min(len(words), start + longest_term()), start, -1):
            group = index.get(" ".join(words[start:end]))
            if group is not None:
                found.append((start, end, group))
                start = end
                break
        else:
            start += 1
    return found


def meilisearch_synonyms() -> dict[str, list[str]]:
    """The glossary as Meilisearch's `synonyms` setting: each wording -> the others."""
    return {
        member: sorted(group - {member})
        for group in groups()
        for member in sorted(group)
    }
