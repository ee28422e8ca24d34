"""The word-level diff between two versions of a playbook."""

from __future__ import annotations

from types import SimpleNamespace

from forum.playbooks.diff import Piece, compare, diff_words


def version(**changes) -> SimpleNamespace:
    values = dict(
        title="Making the case to councillors", summary="Brief early and privately.",
        body_source="", stage="parent-body-approval", topic_id=None, tags=["councillors"],
        steps=[
            {"key": "aaaaaa", "title": "Map the decision", "body": "Find who decides.", "checklist": ["Forward plan"]},
            {"key": "bbbbbb", "title": "Brief early", "body": "Meet the portfolio holder.", "checklist": []},
        ],
        resources=[],
    )
    values.update(changes)
    return SimpleNamespace(**values)


def texts(pieces: list[Piece]) -> tuple[str, str]:
    """The old and the new text, rebuilt from the pieces."""
    old = "".join(p.text for p in pieces if p.op != "insert")
    new = "".join(p.text for p in pieces if p.op != "delete")
    return old, new


def test_a_changed_word_is_a_deletion_then_an_insertion_between_equal_runs():
    assert diff_words("Brief the cabinet early.", "Brief the scrutiny chair early.") == [
        Piece("equal", "Brief the "), Piece("delete", "cabinet"),
        Piece("insert", "scrutiny chair"), Piece("equal", " early."),
    ]


def test_the_pieces_rebuild_both_texts_exactly():
    old = "Ask the fund for its timetable.\n\nThen work back from go-live!"
    new = "Ask the pension fund for its timetable, in writing.\n\nWork back from go-live."
    assert texts(diff_words(old, new)) == (old, new)


def test_identical_texts_are_one_equal_piece_and_empty_ones_nothing():
    assert diff_words("Same words.", "Same words.") == [Piece("equal", "Same words.")]
    assert diff_words("", "") == []
    assert diff_words("", "New") == [Piece("insert", "New")]


def test_punctuation_and_words_are_separate_so_small_changes_stay_small():
    assert diff_words("bond, guarantee", "bond; guarantee") == [
        Piece("equal", "bond"), Piece("delete", ","), Piece("insert", ";"), Piece("equal", " guarantee"),
    ]


def test_piece_html_escapes_text_and_keeps_line_breaks():
    assert str(Piece("insert", "<b>\nx</b>").html()) == "&lt;b&gt;<br>\nx&lt;/b&gt;"


def test_sections_report_changed_fields_and_leave_the_rest_as_same():
    sections = compare(version(), version(summary="Brief early, privately and often."))
    status = {s.label: s.status for s in sections}
    assert status["Summary"] == "changed"
    assert status["Title"] == status["Step 1: Map the decision"] == "same"


def test_steps_are_matched_by_key_so_moves_additions_and_removals_read_as_such():
    old = version()
    moved = version(steps=[
        {**old.steps[1], "body": "Meet the portfolio holder first."},
        {"key": "cccccc", "title": "Write the report", "body": "Keep it short.", "checklist": ["Appendices"]},
    ])
    sections = {s.label: s for s in compare(old, moved)}

    brief = sections["Step 1: Brief early (was step 2)"]
    assert brief.status == "changed"
    assert Piece("insert", " first") in brief.pieces
    added = sections["Step 2: Write the report"]
    assert added.status == "added" and "- Appendices" in added.pieces[0].text
    removed = sections["Step 1: Map the decision (removed)"]
    assert removed.status == "removed" and removed.pieces[0].op == "delete"


def test_checklist_and_classification_changes_are_shown_in_words():
    old = version()
    new = version(stage="legal-set-up", tags=["councillors", "cabinet"],
                  steps=[{**old.steps[0], "checklist": ["Forward plan", "Scrutiny dates"]}, old.steps[1]])
    sections = {s.label: s for s in compare(old, new)}
    assert texts(list(sections["Stage"].pieces)) == ("Parent-body approval", "Legal set-up")
    assert Piece("insert", " cabinet") in sections["Tags"].pieces
    assert any(p.op == "insert" and "Scrutiny dates" in p.text for p in sections["Step 1: Map the decision"].pieces)
