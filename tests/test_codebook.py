"""Codebooks are data: shipped ones are complete and bilingual; broken files name file, line, problem."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import CORPORA, write
from workbench.codebook import (BUILTIN_DIR, EKMAN_FAMILIES, builtin_names, load_codebook, parse_codebook,
                                resolve, to_yaml)
from workbench.errors import CodebookError

GOOD = """codebook: mine
version: 2
dimension: stage
kind: stage_model
codes:
  - id: before
    label: Before
    definition: Before anything.
    order: 1
    cues: {en: [first], es: [primero]}
  - id: after
    label: After
    definition: After everything.
    order: 2
"""


def test_every_shipped_codebook_loads_and_is_bilingual():
    names = builtin_names()
    assert {"awareness_advocacy", "attraction_service", "b2b_seven", "pain_points", "emotions", "touchpoints",
            "actors", "backstage", "opportunities"} <= set(names)
    for name in names:
        cb = resolve(name)
        assert cb.name == name and cb.codes
        for code in cb.codes:
            assert code.definition and code.label
            if code.code_id != "neutral":
                assert code.cues.get("en") and code.cues.get("es"), f"{name}:{code.code_id} needs EN and ES cues"


def test_stage_models_are_the_documented_sequences():
    order = {n: [c.code_id for c in resolve(n).ordered] for n in ("awareness_advocacy", "attraction_service", "b2b_seven")}
    assert order["awareness_advocacy"] == ["awareness", "consideration", "purchase", "retention_advocacy"]
    assert order["attraction_service"] == ["attraction", "interest", "trial", "use", "post_purchase_service"]
    assert order["b2b_seven"] == ["out_of_market", "trigger", "initial_research", "active_evaluation",
                                  "purchase_decision", "experience", "loyalty"]


def test_emotions_are_goemotions_with_the_papers_ekman_families():
    cb = resolve("emotions")
    assert len(cb.codes) == 28
    mapping = json.loads((BUILTIN_DIR.parent / "data" / "goemotions" / "ekman_mapping.json").read_text())
    family_of = {e: fam for fam, es in mapping.items() for e in es} | {"neutral": "neutral"}
    for c in cb.codes:
        assert c.attributes["family"] == family_of[c.code_id], c.code_id
        assert -1 <= c.attributes["valence"] <= 1
        assert (c.attributes["valence"] < 0) == (c.attributes["family"] in {"anger", "disgust", "fear", "sadness"}) \
            or c.attributes["family"] == "surprise"
    assert set(family_of.values()) == set(EKMAN_FAMILIES)


def test_pain_points_have_a_severity_rubric():
    for c in resolve("pain_points").codes:
        assert set(c.attributes["severity"]) == {1, 2, 3}


def test_the_sample_studys_own_stage_model_covers_the_gold_labels():
    cb = load_codebook(CORPORA / "codebooks" / "horizonte_retail.yaml")
    gold = pd.read_csv(CORPORA / "gold" / "gold_excerpts.csv")
    assert set(gold["stage"]) - {"none"} == {c.code_id for c in cb.codes}


def test_round_trip_through_yaml():
    for name in builtin_names():
        cb = resolve(name)
        again = parse_codebook(to_yaml(cb))
        assert again == cb


@pytest.mark.parametrize("text,line,message", [
    (GOOD.replace("    definition: After everything.\n", ""), 11, "code 'after': 'definition' is missing"),
    (GOOD.replace("    definition: Before anything.", "    defintion: Before anything."), 8, "unknown key 'defintion' in a code (did you mean 'definition'?)"),
    (GOOD.replace("id: after", "id: before"), 11, "code id 'before' is already used at line 6"),
    (GOOD.replace("order: 2", "order: 1"), 14, "order 1 is already used by 'before'"),
    (GOOD.replace("    order: 2\n", ""), 11, "stage models need an 'order'"),
    (GOOD.replace("dimension: stage", "dimension: phase"), 3, "dimension 'phase' is not one of"),
    (GOOD.replace("id: after", "id: After Stage"), 11, "must be lower_snake_case"),
    (GOOD.replace("cues: {en: [first], es: [primero]}", "cues: {en: first}"), 10, "must be a list of non-empty strings"),
    (GOOD + "  - id: x\n    label: [unclosed\n", 17, "not valid YAML"),
])
def test_invalid_codebooks_name_the_line_and_problem(tmp_path, text, line, message):
    path = write(tmp_path / "mine.yaml", text)
    with pytest.raises(CodebookError) as e:
        load_codebook(path)
    assert f"{path}, line {line}: " in str(e.value) and message in str(e.value), str(e.value)


def test_emotion_and_pain_specific_rules():
    emo = "codebook: e\nversion: 1\ndimension: emotion\ncodes:\n  - id: glee\n    label: Glee\n    definition: d\n    family: happiness\n    valence: 0.5\n"
    with pytest.raises(CodebookError, match="line 8: code 'glee': family 'happiness' is not one of"):
        parse_codebook(emo, "e.yaml")
    with pytest.raises(CodebookError, match="valence must be a number from -1 to 1"):
        parse_codebook(emo.replace("happiness", "joy").replace("0.5", "3"), "e.yaml")
    pain = "codebook: p\nversion: 1\ndimension: pain_point\ncodes:\n  - id: slow\n    label: Slow\n    definition: d\n"
    with pytest.raises(CodebookError, match="line 5: code 'slow': pain points need a 'severity' rubric"):
        parse_codebook(pain, "p.yaml")
    graded = pain.replace("codes:\n", "severity_cues:\n  4: {en: [gave up]}\ncodes:\n") + \
        "    severity: {1: a, 2: b, 3: c}\n"
    with pytest.raises(CodebookError, match="line 5: severity level 4 must be 1, 2 or 3"):
        parse_codebook(graded, "p.yaml")
    ok = parse_codebook(graded.replace("4: {en", "3: {en"), "p.yaml")
    assert ok.severity_cues == {3: {"en": ("gave up",)}} and parse_codebook(to_yaml(ok)).severity_cues == ok.severity_cues
    with pytest.raises(CodebookError, match="'severity_cues' belong to pain point codebooks only"):
        parse_codebook(emo.replace("happiness", "joy").replace("codes:\n", "severity_cues: {3: {en: [x]}}\ncodes:\n"), "e.yaml")


def test_cli_lists_shows_and_validates(tmp_path, cli):
    code, out, _ = cli("codebooks")
    assert code == 0 and "pain_points" in out and "b2b_seven" in out
    code, out, _ = cli("codebooks", write(tmp_path / "mine.yaml", GOOD))
    assert code == 0 and "mine v2 (stage, stage_model): 2 codes, valid." in out
    code, _, err = cli("codebooks", write(tmp_path / "bad.yaml", GOOD.replace("order: 2", "order: zero")))
    assert code == 2 and "line 14" in err and "'order' must be a whole number" in err
    code, _, err = cli("codebooks", "no_such_book")
    assert code == 2 and "No shipped codebook 'no_such_book'" in err


def test_default_must_be_a_code(tmp_path):
    with pytest.raises(CodebookError, match="line 5: default 'later' is not a code of this codebook"):
        load_codebook(write(tmp_path / "d.yaml", GOOD.replace("kind: stage_model\n", "kind: stage_model\ndefault: later\n")))
    assert parse_codebook(GOOD.replace("kind: stage_model\n", "kind: stage_model\ndefault: after\n")).default == "after"


def test_each_stage_model_names_activities_for_its_own_stages(tmp_path):
    from workbench.coding.rules import rules_coder, stage_activities
    from workbench.errors import CodebookError

    for name in ("attraction_service", "awareness_advocacy", "b2b_seven", str(CORPORA / "codebooks" / "horizonte_retail.yaml")):
        coder = rules_coder(name)
        acts = coder.codebooks["activity"]
        stages = {c.code_id for c in coder.stage_model.codes}
        # every stage has something customers do there, with cues in English and Spanish
        assert {c.attributes["stage"] for c in acts.codes} == stages, name
        assert all({"en", "es"} <= set(c.cues) for c in acts.codes), name
    coded = rules_coder("b2b_seven").code(["We compared three suppliers before the demo call."], [""], ["g"])
    assert coded["activity"][0] is not None and "cue" in coded["activity"][0].rationale
    # a researcher's own stage model with its own activities file beside it
    write(tmp_path / "acts.yaml", "codebook: acts\nversion: 1\ndimension: activity\ncodes:\n"
          "  - id: queues\n    label: Queues at the counter\n    stage: before\n    definition: Waits in line.\n"
          "    cues: {en: [in the queue], es: [en la cola]}\n")
    model = write(tmp_path / "mine.yaml", GOOD.replace("kind: stage_model\n", "kind: stage_model\nactivities: acts.yaml\n"))
    coder = rules_coder(str(model))
    assert coder.code(["I stood in the queue for ages"], [""], ["g"])["activity"][0].code_id == "queues"
    # an activity whose stage the model does not have: refused, naming the code and the stages
    write(tmp_path / "acts.yaml", (tmp_path / "acts.yaml").read_text().replace("stage: before", "stage: checkout"))
    with pytest.raises(CodebookError, match="queues \\(stage 'checkout'\\).*does not have"):
        stage_activities(load_codebook(model))
    with pytest.raises(CodebookError, match="'stage'.*activity codebooks only"):
        parse_codebook(GOOD.replace("order: 1\n", "order: 1\n    stage: before\n", 1))
