"""The bundled sample study: what the issue promises researchers, and a gold subset that still
lines up with the segmentation (a segmentation change that moves a quote fails here)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import CORPORA
from workbench.demo import run_demo
from workbench.store import Store

STAGES = {"awareness", "consideration", "onboarding", "usage", "service", "loyalty", "none"}
PAINS = {"none", "waiting", "effort_repetition", "confusing_information", "broken_flow", "price_surprise",
         "staff_attitude", "channel_switching", "policy_rigidity", "accessibility"}
FAMILIES = {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    text = run_demo(CORPORA, out, progress=False, notebook=False)
    store = Store.open(out / "study.db")
    yield out, text, store
    store.close()


def test_demo_writes_study_excerpts_and_summary(demo):
    out, text, store = demo
    assert (out / "excerpts.csv").exists() and (out / "summary.md").read_text() == text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["excerpts"] == len(pd.read_csv(out / "excerpts.csv"))
    assert "sources from" in text and "Mixed-language sources" in text


def test_interviews_cover_formats_languages_and_segments(demo):
    _, _, store = demo
    src = store.sources()
    interviews = src[src["kind"] == "interview"]
    assert len(interviews) >= 8
    assert (interviews["language"] == "es").sum() >= 3
    assert {"young_professional", "small_business"} <= set(interviews["segment"])
    assert {"transcript@1", "vtt@1", "docx@1", "srt@1"} <= set(interviews["reader"])
    assert interviews["participant"].notna().all() and interviews["segment"].notna().all()
    assert src["mixed_language"].any(), "the corpora must include code-switching"
    turns = store.turns()
    roles = turns.merge(interviews[["source_id"]])["role"].value_counts()
    assert roles["interviewer"] > 50 and roles["participant"] > 50


def test_call_log_size_and_metadata(demo):
    _, _, store = demo
    src = store.sources()
    calls = src[src["kind"] == "call_log"]
    assert len(calls) >= 40
    turns = store.turns().merge(calls[["source_id"]])
    assert len(turns) >= 300
    metas = [json.loads(m) for m in calls["meta"]]
    assert sum("csat" in m for m in metas) >= 30 and calls["channel"].notna().all()
    assert set(calls["channel"]) >= {"phone", "chat", "email", "social"}
    assert {"agent", "customer"} <= set(turns["role"])


def test_usability_notes_have_tasks_quotes_and_severity(demo):
    _, _, store = demo
    src = store.sources()
    notes = src[src["kind"] == "usability_notes"]
    assert len(notes) >= 1
    tasks = {t for m in notes["meta"] for t in json.loads(m)["tasks"]}
    assert len(tasks) >= 5
    turns = store.turns().merge(notes[["source_id"]])
    metas = [json.loads(m) for m in turns["meta"]]
    assert any("severity" in m for m in metas)
    assert (turns["role"] == "participant").sum() >= 10 and (turns["role"] == "observer").sum() >= 10


def test_gold_subset_matches_the_study_and_the_guide(demo):
    _, _, store = demo
    gold = pd.read_csv(CORPORA / "gold" / "gold_excerpts.csv", dtype={"pain_severity": "Int64"})
    assert len(gold) >= 300 and gold["excerpt_id"].is_unique
    ex = store.excerpts().set_index("excerpt_id")
    missing = set(gold["excerpt_id"]) - set(ex.index)
    assert not missing, f"{len(missing)} gold excerpts no longer exist, e.g. {sorted(missing)[:3]}"
    study = ex[["start", "end", "text", "role"]].add_suffix("_study").rename(columns={"role_study": "role"})
    joined = gold.merge(study, left_on="excerpt_id", right_index=True)
    assert (joined["text"] == joined["text_study"]).all()
    assert (joined["start"] == joined["start_study"]).all() and (joined["end"] == joined["end_study"]).all()
    assert set(joined["role"]) <= {"participant", "customer"}
    assert set(gold["stage"]) <= STAGES and STAGES - {"none"} <= set(gold["stage"])
    assert set(gold["pain_point"]) <= PAINS and set(gold["emotion_family"]) <= FAMILIES
    assert gold["valence"].between(-1, 1).all()
    has_pain = gold["pain_point"] != "none"
    assert gold.loc[has_pain, "pain_severity"].between(1, 3).all() and gold.loc[~has_pain, "pain_severity"].isna().all()
    assert {"en", "es"} <= set(gold["language"])


def test_coding_guide_defines_every_label_used():
    guide = (CORPORA / "CODING-GUIDE.md").read_text()
    for label in STAGES | PAINS | FAMILIES:
        assert f"`{label}`" in guide, label
