"""Review, codebook editing, ingest preview and coder comparison: the headless core of the notebook panels."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write
from workbench.codebook import add_code, edit_code, merge_codes, parse_codebook, resolve, save_codebook, to_yaml
from workbench.errors import CodebookError, InputError
from workbench.model import Coding
from workbench.pipeline import ingest_paths, preview_paths
from workbench.review import compare_coders, decide, in_context, queue_counts, review_queue, undo
from workbench.store import Store


def _study(tmp_path: Path, study: Path) -> list[str]:
    p1 = write(tmp_path / "p1.txt", "Interviewer: How was opening the account?\n"
               "P1: The selfie check failed three times.\nInterviewer: And then?\n"
               "P1: I waited twelve days for the card.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p1], progress=False)
        ex = s.excerpts()
        ids = ex.loc[ex["role"] == "participant", "excerpt_id"].tolist()
        s.add_codings([Coding(ids[0], "pain_point", "broken_flow", "rules@2", 0.7, "cue 'failed'", value=2.0),
                       Coding(ids[0], "pain_point", "waiting", "other@1", 0.4, "cue 'times'"),
                       Coding(ids[1], "pain_point", "waiting", "rules@2", 0.3, "cue 'waited'", value=2.0),
                       Coding(ids[1], "stage", "purchase", "rules@2", 0.5, "cue 'card'")])
    return ids


def test_queue_orders_by_confidence_shows_context_and_alternatives(tmp_path, study):
    ids = _study(tmp_path, study)
    with Store.open(study) as s:
        q = review_queue(s, dimension="pain_point")
        assert list(q["excerpt_id"]) == [ids[1], ids[0]]            # least confident first
        assert q.loc[1, "code_id"] == "broken_flow" and "waiting (other@1, 0.40)" in q.loc[1, "alternatives"]
        page = in_context(s, q)
        assert page.loc[1, "before"] == "Interviewer: How was opening the account?"
        assert page.loc[1, "after"] == "Interviewer: And then?"
        assert page.loc[0, "text"] == "I waited twelve days for the card."
        by_code = review_queue(s, order="code")
        assert list(by_code["dimension"]) == ["pain_point", "pain_point", "stage"]


def test_decisions_persist_replace_each_other_and_survive_a_machine_rerun(tmp_path, study):
    ids = _study(tmp_path, study)
    with Store.open(study) as s:
        item = review_queue(s, dimension="pain_point").iloc[0]
        decide(s, item, "accept", coder="ana", memo="clear case")
    with Store.open(study) as s:                                      # a new kernel: the decision is there
        c = s.codings()
        mine = c[c["coder"] == "human:ana"]
        assert list(zip(mine["code_id"], mine["status"], mine["memo"])) == [("waiting", "accepted", "clear case")]
        assert ids[1] not in set(review_queue(s, dimension="pain_point")["excerpt_id"])
        decide(s, item, "recode", coder="ana", code_id="effort_repetition")    # changing one's mind
        mine = s.codings().query("coder == 'human:ana'")
        assert sorted(zip(mine["code_id"], mine["status"])) == [("effort_repetition", "accepted"), ("waiting", "rejected")]
        decide(s, item, "recode", coder="ana", code_id="channel_switching")    # and again: one answer, not two
        mine = s.codings().query("coder == 'human:ana'")
        assert sorted(zip(mine["code_id"], mine["status"])) == [("channel_switching", "accepted"), ("waiting", "rejected")]
        s.add_codings([Coding(ids[1], "pain_point", "price_surprise", "rules@3", 0.9, "rerun")])
        assert "price_surprise" not in set(s.codings()["code_id"])   # the human decision is never overwritten
        counts = queue_counts(s).set_index("dimension")
        assert counts.loc["pain_point", "to_review"] == 1 and counts.loc["pain_point", "accepted"] == 1
        undo(s, item, coder="ana")
        assert ids[1] in set(review_queue(s, dimension="pain_point")["excerpt_id"])
        with pytest.raises(InputError, match="new code"):
            decide(s, item, "recode", coder="ana")
        with pytest.raises(InputError, match="coder name"):
            decide(s, item, "accept", coder=" ")


def test_compare_coders_gives_kappa_and_lists_disagreements(tmp_path, study):
    ids = _study(tmp_path, study)
    with Store.open(study) as s:
        s.add_codings([Coding(ids[0], "pain_point", "broken_flow", "human:ana", status="accepted"),
                       Coding(ids[1], "pain_point", "waiting", "human:ana", status="accepted"),
                       Coding(ids[0], "pain_point", "broken_flow", "human:ben", status="accepted"),
                       Coding(ids[1], "pain_point", "effort_repetition", "human:ben", status="accepted")])
        cmp = compare_coders(s, "human:ana", "human:ben", "pain_point")
        assert cmp.report.n == 2 and cmp.report.accuracy == 0.5
        assert list(cmp.disagreements["excerpt_id"]) == [ids[1]]
        assert cmp.disagreements.loc[0, "text"] == "I waited twelve days for the card."
        with pytest.raises(InputError, match="No codings by 'human:cy'"):
            compare_coders(s, "human:ana", "human:cy", "pain_point")


def test_codebook_edits_validate_merge_and_save(tmp_path):
    cb = resolve("pain_points")
    edited = edit_code(cb, "waiting", label="Waiting / delay", cues={"en": "still waiting; on hold", "es": "sigo esperando"})
    assert edited.get("waiting").cues["en"] == ("still waiting", "on hold")
    with pytest.raises(CodebookError, match="severity"):
        add_code(edited, "late_refund", "Late refund")
    added = add_code(edited, "late_refund", "Late refund", "Refund not received when promised.", cues={"en": "refund"},
                     severity={1: "days late", 2: "weeks late", 3: "never came"})
    assert added.get("late_refund").cues["en"] == ("refund",)
    with pytest.raises(CodebookError, match="already has a code"):
        add_code(added, "late_refund", "Again")
    with pytest.raises(CodebookError, match="lower-case"):
        add_code(added, "Late Refund", "Bad id")
    merged = merge_codes(added, keep="waiting", drop="late_refund")
    assert "late_refund" not in {c.code_id for c in merged.codes}
    assert set(merged.get("waiting").cues["en"]) >= {"still waiting", "refund"}
    path = save_codebook(merged, tmp_path / "mine.yaml")
    assert parse_codebook(path.read_text(), path).get("waiting").label == "Waiting / delay"
    assert to_yaml(resolve(str(path))) == path.read_text()


def test_store_recode_after_merge(tmp_path, study):
    ids = _study(tmp_path, study)
    with Store.open(study) as s:
        assert s.recode("pain_point", "waiting", "effort_repetition") == 2
        assert "waiting" not in set(s.codings()["code_id"])
        assert ids


def test_preview_shows_turns_languages_and_plain_errors(tmp_path):
    good = write(tmp_path / "a.txt", "Interviewer: ¿Cómo abriste la cuenta?\nP1: Con la app, fue muy fácil la verdad.\n")
    (tmp_path / "b.docx").write_bytes(b"\x00\x01 not a docx")
    turns, errors, _ = preview_paths([good, tmp_path / "b.docx"], flags={"segment": "young_professional"})
    assert list(turns["speaker"]) == ["Interviewer", "P1"] and list(turns["language"]) == ["es", "es"]
    assert set(turns["segment"]) == {"young_professional"}
    assert len(errors) == 1 and "b.docx" in errors[0]


def test_folders_given_with_a_relative_path_that_climbs_are_read(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    write(folder / "a.txt", "Interviewer: hi\nP1: hello there\n")
    write(folder / ".hidden" / "b.txt", "Interviewer: hi\nP1: secret\n")
    (tmp_path / "nb").mkdir()
    monkeypatch.chdir(tmp_path / "nb")
    turns, errors, _ = preview_paths([Path("../data")])
    assert list(turns["source"]) == ["a.txt", "a.txt"] and not errors
