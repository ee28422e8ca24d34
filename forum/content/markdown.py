"""Markdown to safe HTML, @mentions, quoting and plain-text excerpts.

The markdown source is what we store and trust least; the HTML rendered here is
stored next to it and served as-is, so it must be safe on its own.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# Usernames are 3-30 of [a-z0-9_-], case-insensitive. The class is spelled out
# (no re.IGNORECASE) because IGNORECASE lets [a-z] match "K" (Kelvin sign) and
# "ſ". The lookbehind rules out e-mail addresses (bob@example.org) and URL
# paths (example.com/@bob), with a Unicode-aware `\w` so "café@bob" is out too;
# the lookahead rules out fediverse handles (@bob@example.social).
_MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_-]{3,30})(?![A-Za-z0-9_@-])")

_ALIGNMENTS = {"left", "center", "right"}


def _link_mentions(state: StateCore) -> None:
    """Core rule: turn @mentions in plain text into links to profiles."""
    for block in state.tokens:
        if block.type == "inline" and block.children:
            block.children = _split_mentions(block.children)


def _split_mentions(children: list[Token]) -> list[Token]:
    # Runs before text_join, so an escaped "\@" or "&#64;" is still a separate
    # text_special token: that is how writers opt out of a mention. Consecutive
    # text pieces are scanned as one run so escapes and neighbours give context.
    out: list[Token] = []
    run: list[Token] = []
    before = ""  # last visible character before the run; markup is invisible
    link_depth = 0
    for token in children:
        if link_depth == 0 and token.type in ("text", "text_special"):
            run.append(token)
            continue
        out.extend(_mention_run(run, before))
        before = _last_visible([*run, token], before)
        run = []
        if token.type == "link_open":
            link_depth += 1
        elif token.type == "link_close":
            link_depth -= 1
        out.append(token)
    out.extend(_mention_run(run, before))
    return out


def _last_visible(tokens: list[Token], before: str) -> str:
    for token in tokens:
        if token.type in ("text", "text_special", "code_inline"):
            before = token.content[-1:] or before
        elif token.type in ("softbreak", "hardbreak", "image"):
            before = " "
    return before


def _mention_run(run: list[Token], before: str) -> list[Token]:
    # `before` is prepended so that "*x*@bob" reads as "x@bob": no mention.
    text = before + "".join(token.content for token in run)
    if "@" not in text:  # most text mentions nobody: skip the regular expression
        return run
    escaped: set[int] = set(range(len(before)))
    position = len(before)
    for token in run:
        if token.type == "text_special":
            escaped.update(range(position, position + len(token.content)))
        position += len(token.content)
    matches = [m for m in _MENTION.finditer(text) if m.start() not in escaped]
    if not matches:
        return run  # text_join will merge the pieces as usual
    level = run[0].level
    out: list[Token] = []
    cursor = len(before)
    for match in matches:
        if match.start() > cursor:
            out.append(Token("text", "", 0, content=text[cursor : match.start()], level=level))
        username = match.group(1).lower()
        link_open = Token("link_open", "a", 1, level=level, markup="mention")
        link_open.attrs = {"href": f"/u/{username}", "class": "mention"}
        link_open.meta = {"mention": username}
        out.append(link_open)
        out.append(Token("text", "", 0, content=match.group(0), level=level + 1))
        out.append(Token("link_close", "a", -1, level=level, markup="mention"))
        cursor = match.end()
    if cursor < len(text):
        out.append(Token("text", "", 0, content=text[cursor:], level=level))
    return out


def _align_table_cells(state: StateCore) -> None:
    """Core rule: use `align` instead of `style`, which our CSP would block."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and "style" in token.attrs:
            value = str(token.attrs.pop("style")).removeprefix("text-align:")
            if value in _ALIGNMENTS:
                token.attrs["align"] = value


# js-default: no raw HTML, typographer off; tables and strikethrough are on.
# Linkify stays off: it would need linkify-it-py, which we do not depend on.
_md = MarkdownIt("js-default").enable(["table", "strikethrough"])
_md.core.ruler.before("text_join", "mentions", _link_mentions)
_md.core.ruler.push("table_alignment", _align_table_cells)

# Defence in depth: js-default already escapes raw HTML and refuses
# javascript:/vbscript:/data: links, but a renderer bug or a future option
# change must not become stored XSS.
_cleaner = nh3.Cleaner(
    tags={
        "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td", "a",
    },  # fmt: skip
    clean_content_tags={"script", "style"},
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    tag_attribute_values={"th": {"align": _ALIGNMENTS}, "td": {"align": _ALIGNMENTS}},
    allowed_classes={"a": {"mention"}},
    url_schemes={"http", "https", "mailto"},
    # nofollow+ugc: user links earn no ranking, so spamming them is pointless.
    link_rel="nofollow ugc noopener",
)


def render_markdown(source: str) -> str:
    """Render user markdown to sanitised HTML, linking @mentions to profiles."""
    return _cleaner.clean(_md.render(source))


# A link to another site in rendered HTML: @mentions link to profiles here, so they don't count.
_EXTERNAL_LINK = re.compile(r"<a\s[^>]*href=\"(?:https?:)?//", re.IGNORECASE)


def count_links(html: str) -> int:
    """Links to other sites in rendered (sanitised) markdown; @mentions don't count."""
    return len(_EXTERNAL_LINK.findall(html))


def find_mentions(source: str) -> list[str]:
    """Distinct lowercased usernames mentioned in `source`, in order of first use."""
    found: dict[str, None] = {}
    for block in _md.parse(source):
        for token in block.children or ():
            if token.type == "link_open" and "mention" in token.meta:
                found.setdefault(token.meta["mention"], None)
    return list(found)


def quote_markdown(author_username: str, source: str) -> str:
    """Markdown blockquote of `source`, attributed to `author_username`, for replies."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in lines)
    return f"> **@{author_username}** wrote:\n>\n{quoted}\n\n"


# What markdown could make of a text: a character that marks something up (or
# that the parser replaces), or a line that could start a list item.
# (The parser ends a line at "\r" too.)
_MAY_BE_MARKUP = re.compile(r"[\\`*_\[\]<>!&~|#=\x00]|(?:^|\r)[ \t]*(?:[-+]|\d)", re.MULTILINE)


def plain_text(source: str) -> str:
    """Visible text of `source` with whitespace collapsed, for search and excerpts.

    The result is plain text, not HTML: escape it wherever it is displayed.
    """
    if not _MAY_BE_MARKUP.search(source):
        # Prose with no markup (half of all posts) reads the same parsed or not,
        # and parsing is nearly all of what indexing a post costs.
        return " ".join(source.split())
    return _parsed_plain_text(source)


def _parsed_plain_text(source: str) -> str:
    parts: list[str] = []
    for block in _md.parse(source):
        if block.type in ("fence", "code_block"):
            parts.append(block.content)
        for token in block.children or ():
            # Images are dropped by the sanitiser, so their alt text is not shown.
            if token.type in ("text", "code_inline"):
                parts.append(token.content)
            elif token.type in ("softbreak", "hardbreak"):
                parts.append(" ")
        parts.append(" ")  # block boundaries separate words
    return " ".join("".join(parts).split())


def excerpt(source: str, length: int = 200) -> str:
    """At most `length` characters of plain text, cut at a word boundary with "…"."""
    if length < 1:
        raise ValueError("length must be at least 1")
    text = plain_text(source)
    if len(text) <= length:
        return text
    cut = text[: length - 1]  # one character is kept for the ellipsis
    if not text[length - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]  # the last word was cut in half
    return cut.rstrip(" ,;:.-") + "…"
