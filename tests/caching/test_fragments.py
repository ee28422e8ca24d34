"""Fragments filled per member (forum.caching.fragments): slots, tokens and keeping."""

from __future__ import annotations

from markupsafe import escape

from forum.caching.fragments import CSRF_MARK, FragmentCache, Personal


def test_a_fragment_is_filled_slot_by_slot_and_with_the_token():
    personal = Personal()
    html = (
        f"<p>{personal.slot('own', 1, mine='<a>Edit 1</a>')}</p>"
        f"<form><input value=\"{personal.csrf_token()}\"></form>"
        f"<p>{personal.slot('own', 2, mine='<a>Edit 2</a>')}</p>"
    )
    fragment = personal.cut(html)
    assert [slot.key for slot in fragment.slots] == [1, 2]

    def mine(member_id: int):
        return lambda slot: slot.variants["mine"] if slot.key == member_id else ""

    assert fragment.fill(mine(2), lambda: "tok") == (
        '<p></p><form><input value="tok"></form><p><a>Edit 2</a></p>'
    )


def test_the_token_is_asked_for_only_when_a_form_needs_it():
    personal = Personal()
    fragment = personal.cut(f"<p>{personal.slot('own', 1, mine='x')}</p>")

    def no_token() -> str:
        raise AssertionError("asked for a token with no form to put it in")

    assert fragment.fill(lambda slot: "", no_token) == "<p></p>"


def test_content_cannot_open_a_slot_or_take_the_token():
    personal = Personal()
    forged = "\x00s0\x00 \x00csrf\x00 <!--s0-->"
    html = f"<p>{escape(forged)}</p><p>{personal.slot('own', 1, mine='mine')}</p>"
    fragment = personal.cut(html)
    assert len(fragment.slots) == 1
    assert fragment.fill(lambda slot: "", lambda: "tok") == f"<p>{escape(forged)}</p><p></p>"
    assert CSRF_MARK not in forged


def test_an_entry_is_kept_while_its_stamp_is_current_and_it_is_young():
    now = [100.0]
    cache: FragmentCache[str] = FragmentCache(size=2, max_age=60, clock=lambda: now[0])
    cache.keep("a", stamp=7, value="page a")
    assert cache.get("a", 7).value == "page a"
    assert cache.get("a", 8) is None  # content changed
    assert cache.get("a", 7) is None  # and the entry went
    cache.keep("a", stamp=8, value="page a")
    now[0] += 61
    assert cache.get("a", 8) is None  # "3 minutes ago" would be wrong by now


def test_the_oldest_entry_goes_first_and_a_size_of_zero_keeps_nothing():
    cache: FragmentCache[str] = FragmentCache(size=2)
    for key in "abc":
        cache.keep(key, stamp=1, value=key)
    assert cache.get("a", 1) is None and cache.get("c", 1).value == "c"
    off: FragmentCache[str] = FragmentCache(size=0)
    entry = off.keep("a", stamp=1, value="a")
    assert entry.value == "a" and off.get("a", 1) is None
