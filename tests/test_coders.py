"""One coder interface: files and studies go through the same path, every dimension has its own
probability, a new coder is one registered factory, and a re-run never leaves stale suggestions."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import write
from workbench.coding import base
from workbench.coding.base import Chain, Suggestion, available, create, register
from workbench.coding.run import OUTPUT_COLUMNS, code_frame, code_study, default_coder
from workbench.errors import WorkbenchError
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.store import Store

TEXTS = ["My documents were in review for a week; keep me posted next time, please.",
         "I called the helpline and the card arrived in three days, thanks!"]


def test_file_output_has_every_dimension_with_its_own_probability():
    df = code_frame(default_coder(), TEXTS)
    assert list(df.columns) == OUTPUT_COLUMNS
    row = df.iloc[0]
    # backstage and opportunities used to be coded for studies only; the file output now has them
    assert (row["backstage"], row["opportunity"]) == ("identity_verification", "proactive_status")
    for dim in ("stage", "pain_point", "emotion", "backstage", "opportunity"):
        assert 0 < row[f"{dim}_confidence"] <= 1
    assert df.iloc[1]["touchpoint"] and df.iloc[1]["touchpoint_confidence"] > 0
    assert row["touchpoint"] == "" and row["touchpoint_confidence"] == ""     # nothing named: no code, no probability
    assert row["rationale"].startswith("stage: ") and "backstage: cue 'in review'" in row["rationale"]
    assert set(df["coders"]) == {"rules@2"}


def test_study_and_file_are_coded_the_same_way(tmp_path, study):
    p = write(tmp_path / "p.txt", "Interviewer: How was opening the account?\nP1: " + TEXTS[0] + "\nInterviewer: And then?\n"
              "P1: " + TEXTS[1] + "\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        coder = default_coder()
        coded, _ = code_study(s, coder)
        c = s.codings()
    # the same excerpts, contexts and groups through code_frame give the same codes as the stored ones
    again = code_frame(coder, list(coded["text"]), groups=list(coded["source_id"]))
    stored = c.pivot_table(index="excerpt_id", columns="dimension", values="code_id", aggfunc="first")
    for dim in ("backstage", "opportunity", "touchpoint", "pain_point"):
        want = dict(zip(coded["excerpt_id"], again[dim]))
        got = {k: ("" if pd.isna(v) or (dim == "pain_point" and v == "none") else v)
               for k, v in stored.get(dim, pd.Series(dtype=str)).items()}
        assert all(got.get(k, "") == v for k, v in want.items()), dim
    # each stored coding carries the rationale of its own dimension (no re-split strings)
    backstage = c[c["dimension"] == "backstage"]
    assert len(backstage) and backstage["rationale"].str.startswith("cue ").all()
    assert not c["rationale"].str.contains(r" \| ").any()


class Shouty:
    """A coder added in one place: an exclamation mark is a positive emotion."""

    id = "shouty@1"
    dimensions = ("emotion",)
    languages = {"emotion": ("*",)}

    def code(self, texts, contexts, groups, prior):
        return {"emotion": [Suggestion("emotion", "excitement", 0.9, "an exclamation mark", 0.7) if "!" in t
                            else prior["emotion"][i] for i, t in enumerate(texts)]}


def test_a_registered_coder_joins_the_chain_and_names_itself_in_provenance(monkeypatch, tmp_path, study):
    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    register("shouty")(lambda **_: Shouty())
    assert {"rules", "emotion", "shouty"} <= set(available())
    chain = Chain([create("rules"), create("shouty")])
    df = code_frame(chain, ["Great news!", "still no card, day 12"])
    assert list(df["emotion"]) == ["excitement", "annoyance"]
    assert list(df["coders"]) == ["rules@2 + shouty@1", "rules@2"]
    p = write(tmp_path / "p.txt", "Interviewer: News?\nP1: Great news!\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        code_study(s, chain)
        c = s.codings()
    assert set(c.loc[c["dimension"] == "emotion", "coder"]) == {"shouty@1"}
    assert set(c.loc[c["dimension"] == "stage", "coder"]) == {"rules@2"}
    with pytest.raises(WorkbenchError, match="Unknown coder 'nope'; available: .*rules"):
        create("nope")


def test_a_coder_returning_the_wrong_number_of_suggestions_is_refused():
    class Broken(Shouty):
        def code(self, texts, contexts, groups, prior):
            return {"emotion": []}
    with pytest.raises(WorkbenchError, match="returned 0 emotion suggestions for 2 texts"):
        Chain([create("rules"), Broken()]).code(["a", "b"])


def test_a_re_run_with_other_coders_leaves_no_stale_suggestion_and_keeps_humans(tmp_path, study):
    p = write(tmp_path / "p.txt", "Interviewer: And the card?\nP1: Still no card, day 12.\nP1: Thanks, it came today!\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        code_study(s, default_coder(emotion="model"))
        c = s.codings()
        assert set(c.loc[c["dimension"] == "emotion", "coder"]) == {"emotion@1"}
        decided = c[c["dimension"] == "emotion"]["excerpt_id"].iloc[0]
        s.add_codings([Coding(decided, "emotion", "anger", "human:ana", status="accepted")])
        code_study(s, default_coder(emotion="lexicon"))
        c = s.codings()
    emo = c[c["dimension"] == "emotion"]
    rest = emo[emo["excerpt_id"] != decided]
    assert set(rest["coder"]) == {"rules@2"}      # the model's old suggestions went with the re-coding
    mine = emo[emo["excerpt_id"] == decided]
    # the decided excerpt keeps the human decision, and the suggestion it was decided on, untouched
    assert set(mine["coder"]) == {"human:ana", "emotion@1"}
