"""Search-box queries compiled to SQLite FTS5 MATCH expressions.

Every term is quoted (FTS5 syntax typed by a user is just text), searchable
text lives in the columns title, tags and body, and the ACL principals and
filter values are indexed as opaque tokens in a fourth column, `meta`, so that
FTS5 itself intersects the matches with what the searcher may see and asked
for: counting then never has to visit the documents table.

Clauses on `meta` name their column, so text containing a token can never pass
for a principal. The user's words name none (a column filter costs FTS5 a look
at every position list, about 40% of a common word's time): a word typed to
look like a meta token can only find documents the other clauses admit anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from search_index import synonyms
from search_index.backend import SearchDoc
from search_index.highlight import Matches
from search_index.query_syntax import ParsedQuery

MIN_PREFIX_LENGTH = 2  # a one-letter prefix would merge a large part of the index
# One letter per kind of meta token; the value follows, hex-encoded, so that any
# value is exactly one token ("space:3" would otherwise be two).
META_PREFIX = {
    "acl": "a", "kind": "k", "topic": "t", "tags": "g", "stage": "s", "sector": "e", "solved": "v",
}


def quote(term: str) -> str:
    """`term` as an FTS5 string: a phrase when it holds several words."""
    return '"' + term.replace('"', '""') + '"'


def meta_token(name: str, value: str) -> str:
    return META_PREFIX[name] + value.encode().hex()


def facet_values(doc: SearchDoc) -> dict[str, list[str]]:
    """The values `doc` has for each facet (several for tags, "true"/"false" for solved)."""
    return {
        "kind": [doc.kind], "topic": [doc.topic], "tags": list(doc.tags), "stage": [doc.stage],
        "sector": [doc.sector], "solved": ["true" if doc.solved else "false"],
    }


def meta_text(doc: SearchDoc) -> str:
    """What `doc` indexes in the meta column: its ACL principals and facet values."""
    tokens = [meta_token("acl", principal) for principal in doc.acl if principal]
    for name, values in facet_values(doc).items():
        tokens.extend(meta_token(name, value) for value in values if value)
    return " ".join(dict.fromkeys(tokens))


def meta_clause(name: str, values: Iterable[str]) -> str:
    """Documents with any of `values` for `name` ("acl" or a facet)."""
    tokens = [quote(meta_token(name, value)) for value in dict.fromkeys(values) if value]
    if not tokens:
        return 'meta : ""'  # matches nothing, like an empty IN ()
    return "meta : (" + " OR ".join(tokens) + ")"


def both(*clauses: str) -> str:
    return " AND ".join(f"({clause})" for clause in clauses if clause)


@dataclass(frozen=True)
class Clause:
    """One condition every match meets: a word with its typo alternatives or
    completions, or a phrase or glossary term with its other wordings."""

    expression: str
    # The words each alternative looks up (a phrase's, in order): their document
    # counts tell what scoring the clause costs and how rare it is.
    alternatives: tuple[tuple[str, ...], ...]
    # An alternative is a prefix FTS5 expands itself: its words are unknown.
    open_prefix: bool = False


@dataclass(frozen=True)
class CompiledQuery:
    """The user's part of a MATCH expression, and what to highlight."""

    match: str
    # The same without typo alternatives, when there are any: matches of this
    # rank above matches that needed a typo.
    exact: str | None
    matches: Matches
    clauses: tuple[Clause, ...] = ()  # of `match`: what every match has


def compile_query(
    parsed: ParsedQuery,
    typos: Mapping[str, Sequence[str]],
    completions: Sequence[str] | None = None,
) -> CompiledQuery:
    """Compile `parsed`; `typos` maps a plain word to its typo alternatives.

    `completions`, when known, are all the indexed words the last word is a
    prefix of: FTS5 then looks them up directly instead of merging every
    posting list under the prefix, which costs as much as the prefix is common.
    """
    compiler = _Compiler(parsed, typos, completions)
    match = compiler.expression(with_typos=True)
    clauses = tuple(compiler.clauses)
    exact = compiler.expression(with_typos=False) if compiler.used_typos else None
    return CompiledQuery(match, exact, compiler.highlighted(), clauses)


class _Compiler:
    def __init__(
        self,
        parsed: ParsedQuery,
        typos: Mapping[str, Sequence[str]],
        completions: Sequence[str] | None,
    ) -> None:
        self.parsed = parsed
        self.typos = typos
        self.completions = completions
        last = parsed.last_word
        self.prefix = last if last is not None and len(last) >= MIN_PREFIX_LENGTH else None
        self.used_typos = False
        self.marked: set[str] = set()
        self.phrases: set[tuple[str, ...]] = set()
        self.clauses: list[Clause] = []

    def expression(self, *, with_typos: bool) -> str:
        """The MATCH expression; with typos, its required clauses go to `self.clauses`."""
        self.clauses = []
        required: list[str] = []
        excluded: list[str] = []
        parts = self.parsed.parts
        for index, part in enumerate(parts):
            if part.kind == "words":
                last_run = index == len(parts) - 1
                required.extend(self._run(part.words, last_run, with_typos))
            elif part.kind == "phrase":
                required.append(
                    self._alternatives([quote(" ".join(part.words))], part.words, [part.words])
                )
                self._mark(part.words)
            else:
                excluded.append(quote(" ".join(part.words)))
        expression = " AND ".join(required)
        if excluded:
            expression = f"({expression}) NOT (" + " OR ".join(excluded) + ")"
        return expression

    def _run(self, words: tuple[str, ...], last_run: bool, with_typos: bool) -> list[str]:
        """Clauses for consecutive plain words, glossary wordings among them expanded."""
        clauses: list[str] = []
        position = 0
        terms = synonyms.find_terms(words) + [(len(words), len(words), frozenset())]
        for start, end, _group in terms:
            for at in range(position, start):
                clauses.append(self._word(words[at], last_run and at == len(words) - 1, with_typos))
            if start < end:
                inner = [
                    self._word(words[at], last_run and at == len(words) - 1, with_typos,
                               record=False)
                    for at in range(start, end)
                ]
                joined = inner[0] if len(inner) == 1 else "(" + " AND ".join(inner) + ")"
                typed = last_run and end == len(words) and words[-1] == self.prefix
                clauses.append(self._alternatives(
                    [joined], words[start:end], [words[start:end]],
                    open_prefix=typed and not self.completions,
                ))
            position = end
        return clauses

    def _word(self, word: str, last: bool, with_typos: bool, *, record: bool = True) -> str:
        self.marked.add(word)
        prefix = last and word == self.prefix
        open_prefix = prefix and not self.completions
        if prefix and self.completions:
            looked_up = list(self.completions)
        else:
            looked_up = [word]
        alternatives = [quote(other) for other in looked_up]
        if open_prefix:
            alternatives[0] += "*"
        # Alternatives the prefix already matches would only cost a second lookup.
        found = [
            other for other in self.typos.get(word, ()) if not (prefix and other.startswith(word))
        ]
        if found:
            self.used_typos = True
            self.marked.update(found)
            if with_typos:
                alternatives.extend(quote(other) for other in found)
                looked_up.extend(found)
        expression = (
            alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
        )
        if record:
            self.clauses.append(Clause(expression, tuple((w,) for w in looked_up), open_prefix))
        return expression

    def _alternatives(
        self, clauses: list[str], words: Sequence[str], looked_up: list[tuple[str, ...]],
        *, open_prefix: bool = False,
    ) -> str:
        """`clauses` (which look up `looked_up`) OR'ed with the glossary's other wordings
        of `words`: a required clause."""
        key = " ".join(words)
        for other in sorted(synonyms.synonyms_of(key)):
            clauses.append(quote(other))
            looked_up.append(tuple(other.split()))
            self._mark(tuple(other.split()))
        expression = clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"
        self.clauses.append(Clause(expression, tuple(looked_up), open_prefix))
        return expression

    def _mark(self, words: tuple[str, ...]) -> None:
        if len(words) == 1:
            self.marked.add(words[0])
        else:
            self.phrases.add(words)

    def highlighted(self) -> Matches:
        phrases = tuple(sorted(self.phrases))
        if self.prefix and self.completions:
            # The completions are every word the prefix can match: marking them
            # is the same, and cheaper than testing each word of a text.
            return Matches(frozenset(self.marked.union(self.completions)), (), phrases)
        prefixes = (self.prefix,) if self.prefix else ()
        return Matches(frozenset(self.marked), prefixes, phrases)
