"""The search suite (issue 3, "Speed"): search pages at 8 concurrent clients.

Targets on the standard dataset, on this 2-core machine: search p95 under 30 ms
for the embedded backends (SQLite FTS5, PostgreSQL full-text), and indexing the
whole dataset (`forum reindex`) in under a minute.

The words come from the standard dataset's vocabulary (document frequencies
over its 40,051 posts):

- "demanded": 1 post, the hot thread's title (present at every --threads size);
- "contract": about 36,400 posts (91 %): the "very common word" path;
- "pensoin": "pension" (about 20,700 posts) with two letters swapped, one typo;
- "pension deficit": two words, both frequent, about 7,500 matches together;
- "governance" among questions only: a filter (``kind=question``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from bench.load import Scenario

WORDS_SCRIPT = Path(__file__).with_name("wrk_words.lua")
VARIED_WORDS = 3000  # more than a web process remembers answers for (SEARCH_CACHE_SIZE 512)

NAME = "search"
CONNECTIONS = 8  # the targets above are at 8 clients; the pages suite loads search at 16
SECONDS = 15
P95_TARGET_MS = 30.0
REINDEX_TARGET_S = 60.0


def scenarios(site: object = None) -> list[Scenario]:
    """The search pages (the same whatever the site: the words are the dataset's)."""
    return [
        Scenario("search rare word", "/search?q=demanded", "1 match", check=check_page),
        Scenario("search common word", "/search?q=contract", "~91% of posts", check=check_page),
        Scenario("search typo", "/search?q=pensoin", "'pension' with a swap", check=check_page),
        Scenario("search two words", "/search?q=pension+deficit", "AND of two common words",
                 check=check_page),
        Scenario("search filtered", "/search?q=governance&kind=question", "kind=question",
                 check=check_page),
        *varied(site),
    ]


def varied(site: object) -> list[Scenario]:
    """Every request a different word, so that the app's answer cache never helps:
    what the engine itself costs (the words of the dataset's titles and bodies)."""
    words_file = getattr(site, "words_file", None)
    if words_file is None:
        return []
    first = Path(words_file).read_text().split()[0]
    return [Scenario(
        f"search {VARIED_WORDS:,} different word pairs", f"/search?q={first}",
        "never the same answer twice: the engine without the answer cache",
        check=check_page, script=WORDS_SCRIPT, env=(("BENCH_WORDS", str(words_file)),),
    )]


def write_varied_words(dataset: Path, target: Path, count: int = VARIED_WORDS) -> Path:
    """`count` different searches (one per line, "+" between words): pairs of the
    dataset's most frequent words of 5+ letters (its vocabulary is small: pairs give
    enough different questions to outrun the answer cache)."""
    frequency: Counter[str] = Counter()
    with dataset.open() as lines:
        for line in lines:
            record = json.loads(line)
            text = f"{record.get('title', '')} {record.get('body', '')}".lower()
            frequency.update(set(re.findall(r"[a-z]{5,}", text)))
    common = [word for word, _ in frequency.most_common(80)]
    pairs = [f"{a}+{b}" for a in common for b in common if a != b]
    target.write_text("\n".join(pairs[:count]) + "\n")
    return target


_COUNT = re.compile(rb'class="result-count">\s*([\d,]+) result')
_UNAVAILABLE = b"Search is unavailable"


def check_page(status: int, body: bytes) -> tuple[int | None, str | None]:
    """The result count a search page shows, and what is wrong with it (None: fine)."""
    if status != 200:
        return None, f"status {status}"
    if _UNAVAILABLE in body:
        return None, "the page says search is unavailable"
    found = _COUNT.search(body)
    if found is None:
        return None, "no result count on the page"
    count = int(found.group(1).replace(b",", b""))
    return count, None if count else "no results"


def targets(build: dict, measured: list[dict]) -> list[dict]:
    found = [
        {
            "name": "forum reindex (whole dataset)", "value": build["reindex_s"],
            "limit": REINDEX_TARGET_S, "unit": "s",
        }
    ]
    for result in measured:
        if result.get("suite") == NAME:
            found.append({
                "name": f"{result['name']} p95 ({result['connections']} clients)",
                "value": result["latency_ms"]["p95"], "limit": P95_TARGET_MS, "unit": "ms",
            })
    for target in found:
        target["met"] = target["value"] is not None and target["value"] < target["limit"]
    return found
