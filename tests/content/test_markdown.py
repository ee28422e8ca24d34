from html.parser import HTMLParser

import pytest

from forum.content import markdown
from forum.content.markdown import (
    excerpt,
    find_mentions,
    plain_text,
    quote_markdown,
    render_markdown,
)

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
FORBIDDEN_TAGS = {"script", "iframe", "svg", "style", "object", "embed", "form", "math", "img"}
DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:")


class Elements(HTMLParser):
    """Every start tag of a fragment with its (entity-decoded) attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag

    def named(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def url_scheme_of(href: str) -> str:
    # Browsers ignore ASCII whitespace and control characters inside a scheme.
    return "".join(ch for ch in href if ord(ch) > 0x20).lower()


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<object data="evil.swf"></object>',
    '<form action="https://evil.example"><input name=x></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    '[x](https://ok.example ""><img src=x onerror=alert(1)>")',
    "[x](https://ok.example '\" onmouseover=\"alert(1)')",
    "<javascript:alert(1)>",
    "<JaVaScRiPt:alert(1)>",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](https://ok.example/a.png)',
    "```\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "<!-- <script>alert(1)</script> -->",
    "<details open ontoggle=alert(1)>",
    "[@alice](javascript:alert(1))",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_render_harmlessly(payload: str) -> None:
    html = render_markdown(payload)
    elements = Elements(html)

    assert "<script" not in html.lower()
    for tag, attrs in elements.tags:
        assert tag in ALLOWED_TAGS and tag not in FORBIDDEN_TAGS, html
        assert not any(name.startswith("on") for name in attrs), html
        assert "style" not in attrs and "src" not in attrs, html
        for name in ("href", "src", "action", "formaction", "xlink:href"):
            assert not url_scheme_of(attrs.get(name, "")).startswith(DANGEROUS_SCHEMES), html


def test_script_tags_are_removed() -> None:
    html = render_markdown("hello <script>alert(1)</script>")

    assert Elements(html).named("script") == []
    assert "&lt;script&gt;" in html  # shown as text, not executed


def test_links_get_nofollow_ugc_noopener() -> None:
    html = render_markdown("[docs](https://example.org/docs)")

    (link,) = Elements(html).named("a")
    assert link == {"href": "https://example.org/docs", "rel": "nofollow ugc noopener"}


def test_relative_and_mailto_links_survive() -> None:
    elements = Elements(render_markdown("[me](/u/alice) [mail](mailto:a@example.org)"))

    assert [a["href"] for a in elements.named("a")] == ["/u/alice", "mailto:a@example.org"]


def test_link_titles_are_kept() -> None:
    (link,) = Elements(render_markdown('[x](https://example.org "About us")')).named("a")

    assert link["title"] == "About us"


def test_fenced_code_blocks_render_without_their_language_class() -> None:
    html = render_markdown("```python\nif a < b:\n    pass\n```")

    assert html == "<pre><code>if a &lt; b:\n    pass\n</code></pre>\n"


def test_lists_render() -> None:
    elements = Elements(render_markdown("- one\n- two\n\n3. three\n4. four"))

    assert [tag for tag, _ in elements.tags] == ["ul", "li", "li", "ol", "li", "li"]
    assert elements.named("ol") == [{"start": "3"}]


def test_tables_render_with_alignment_but_no_inline_style() -> None:
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |")
    elements = Elements(html)

    assert [attrs.get("align") for attrs in elements.named("th")] == ["left", "right"]
    assert len(elements.named("td")) == 2
    assert "style" not in html


def test_headings_and_emphasis_render() -> None:
    html = render_markdown("# Title\n\n## Sub\n\n*em* **strong** ~~gone~~")

    assert html == (
        "<h1>Title</h1>\n<h2>Sub</h2>\n"
        "<p><em>em</em> <strong>strong</strong> <s>gone</s></p>\n"
    )


def test_images_are_dropped() -> None:
    assert Elements(render_markdown("![cat](https://example.org/cat.png)")).named("img") == []


def test_mentions_become_profile_links() -> None:
    html = render_markdown("thanks @Alice_B and @bob-2!")

    assert html == (
        '<p>thanks <a href="/u/alice_b" class="mention" rel="nofollow ugc noopener">@Alice_B</a>'
        ' and <a href="/u/bob-2" class="mention" rel="nofollow ugc noopener">@bob-2</a>!</p>\n'
    )


def test_mentions_work_in_headings_quotes_lists_tables_and_emphasis() -> None:
    source = "# @kim\n\n> @lee\n\n- @mo_\n\n| @ned |\n|--|\n| **@ola** |"

    assert find_mentions(source) == ["kim", "lee", "mo_", "ned", "ola"]


@pytest.mark.parametrize(
    "source",
    [
        "`@alice`",
        "```\n@alice\n```",
        "    @alice",
        "[@alice](https://example.org)",
        "[see @alice here](/x)",
        "<https://example.org/@alice>",
        "mail bob@example.org",
        "<bob@example.org>",
        "follow @alice@example.social",
        "https://example.org/@alice",
        "*x*@alice",
        "\\@alice",
        "&#64;alice",
        "@al",
        "@" + "a" * 31,
    ],
)
def test_text_that_is_not_a_mention_is_left_alone(source: str) -> None:
    assert find_mentions(source) == []
    assert 'class="mention"' not in render_markdown(source)


def test_find_mentions_lists_distinct_lowercased_names_in_order() -> None:
    source = "@Carol, @alice: ask @CAROL.\n\n`@dave` @bob@x.org @erin"

    assert find_mentions(source) == ["carol", "alice", "erin"]


def test_mention_links_cannot_be_forged_with_raw_html() -> None:
    html = render_markdown('<a class="mention" href="/evil">@xavier</a>')

    # The raw tag stays visible text; only the genuine mention became a link.
    assert Elements(html).named("a") == [
        {"href": "/u/xavier", "class": "mention", "rel": "nofollow ugc noopener"}
    ]
    assert html.startswith('<p>&lt;a class="mention" href="/evil"&gt;')


def test_quote_markdown_attributes_and_prefixes_every_line() -> None:
    quoted = quote_markdown("alice", "line1\r\nline2\n\nline3\n")

    assert quoted == "> **@alice** wrote:\n>\n> line1\n> line2\n>\n> line3\n\n"


def test_quoted_markdown_renders_as_a_blockquote() -> None:
    html = render_markdown(quote_markdown("alice", "first\n\n```\ncode\n```") + "my reply")
    elements = Elements(html)

    assert [tag for tag, _ in elements.tags][:3] == ["blockquote", "p", "strong"]
    assert html.endswith("</blockquote>\n<p>my reply</p>\n")
    assert "<pre><code>code\n</code></pre>" in html
    assert find_mentions(quote_markdown("alice", "hi")) == ["alice"]


def test_plain_text_drops_markup_and_collapses_whitespace() -> None:
    source = "# Title\n\nSome *emphasis*,   a [link](/x)\nand `code`.\n\n- one\n- two\n\n```\nblock\n```"

    assert plain_text(source) == "Title Some emphasis, a link and code. one two block"


def test_plain_text_decodes_entities_and_keeps_raw_html_as_text() -> None:
    assert plain_text("Fish &amp; chips &lt;3 <b>bold</b>") == "Fish & chips <3 <b>bold</b>"


# Texts near the line between prose and markup: whitespace of every kind, line
# endings, numbers, dashes and punctuation that markup does not use.
PROSE_AND_ALMOST = [
    "plain words", "  leading and trailing  ", "two\n\nparagraphs\nand a soft break",
    "hard break  \nhere", "    indented like code\nthen prose", "tab\tand\u00a0no-break space",
    "windows\r\nline endings\r\n\r\nand a paragraph", "old mac\rendings",
    "- a list", "text\n- a list after it", "text\r- after a lone CR", "+ plus list",
    "1. numbered", "2) numbered", "text\n3. numbered after", "1.5 million in 2024, not a list",
    "a line\n---\nunder it", "co-op's well-known self-help - with a dash", "Thanks! Really?",
    "50% of £4m (roughly), 'quoted' and \"double\"; semi: colon.", "@alice said hi", "",
]


@pytest.mark.parametrize("source", PROSE_AND_ALMOST)
def test_plain_text_of_prose_skips_the_parser_and_gives_what_it_gives(source: str) -> None:
    assert plain_text(source) == markdown._parsed_plain_text(source)


def test_excerpt_returns_short_text_unchanged() -> None:
    assert excerpt("**short** text") == "short text"


def test_excerpt_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    result = excerpt("alpha beta gamma delta", length=14)

    assert result == "alpha beta…"
    assert len(result) <= 14


def test_excerpt_cuts_a_single_long_word_hard() -> None:
    assert excerpt("abcdefghijklmnopqrstuvwxyz", length=10) == "abcdefghi…"


def test_excerpt_defaults_to_200_characters() -> None:
    result = excerpt("word " * 100)

    assert len(result) <= 200
    assert result.endswith("word…")


def test_mentions_accept_usernames_of_three_to_thirty_characters() -> None:
    longest = "a" * 30

    assert find_mentions(f"@abc and @{longest}.") == ["abc", longest]
