"""Coders declare their languages: a text in a language no coder covers for a dimension is left
uncoded for it and reported, never coded by a model or cue list of another language (issue 21)."""
from __future__ import annotations

import json

import pytest

from conftest import write
from workbench.coding.base import Chain, Suggestion, covers
from workbench.coding.run import code_frame, code_study, coverage_lines, default_coder, study_coverage_lines
from workbench.journey import load_map_inputs
from workbench.pipeline import ingest_paths
from workbench.store import Store

RO = "Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon."
EN = "I waited three weeks for the card and nobody answered the phone."


class Multilingual:
    """A stand-in for a multilingual model coder: stage and pain point in any language."""

    id = "multi@1"
    dimensions = ("stage", "pain_point")
    languages = {"stage": ("*",), "pain_point": ("*",)}

    def code(self, texts, contexts, groups, prior):
        return {"stage": [Suggestion("stage", "purchase", 0.6, "multi") for _ in texts],
                "pain_point": [Suggestion("pain_point", "waiting", 0.7, "multi") for _ in texts]}


def test_a_romanian_text_is_never_coded_by_the_english_and_spanish_coders():
    chain = default_coder(emotion="model", embed="off")
    coded = chain.code([RO, EN], languages=["ro", "en"])
    for dim, suggestions in coded.items():
        assert suggestions[0] is None, f"{dim} of a Romanian text was coded by {suggestions[0].coder}"
    assert coded["stage"][1] is not None and coded["pain_point"][1].code_id == "waiting"
    assert coded["emotion"][1].coder == "emotion@1"
    # the same coders without the languages would have guessed: the rules' default stage for Romanian
    assert Chain(chain.coders).code([RO, EN])["stage"][0] is not None


def test_a_covering_coder_codes_what_the_others_do_not_and_says_so():
    rules = default_coder(emotion="model", embed="off")
    chain = Chain([*rules.coders, Multilingual()])
    coded = chain.code([RO, EN], languages=["ro", "en"])
    assert coded["stage"][0].coder == coded["pain_point"][0].coder == "multi@1"
    assert coded["emotion"][0] is None and coded["touchpoint"][0] is None
    assert coded["emotion"][1].coder == "emotion@1"         # English keeps the English model
    cov = chain.coverage(["ro", "en"])
    assert cov["ro"]["stage"] == "multi@1" and cov["ro"]["emotion"] is None and cov["en"]["emotion"] == "emotion@1"
    assert covers(rules.coders[0], "stage", "es") and not covers(rules.coders[0], "stage", "ro")
    assert covers(rules.coders[0], "stage", "und")          # no letters to read: every coder may code it


def test_the_deduplicating_path_keeps_languages_apart_too():
    # 1,000+ texts with few distinct ones take the code-each-distinct-text-once path
    texts = [RO, EN] * 600
    langs = ["ro", "en"] * 600
    coded = default_coder(emotion="model", embed="off").code(texts, languages=langs)
    assert all(s is None for s in coded["stage"][0::2]) and all(s is not None for s in coded["stage"][1::2])
    assert all(s is None for s in coded["emotion"][0::2])


def test_files_are_coded_by_detected_language():
    df = code_frame(default_coder(emotion="model", embed="off"), [RO, EN, "ok"])
    assert df.loc[0, ["stage", "pain_point", "emotion"]].tolist() == ["", "", ""]
    assert df.loc[1, "pain_point"] == "waiting"
    assert df.loc[2, "stage"] != ""          # a lone "ok" is no language to refuse: every coder codes it


def test_a_study_reports_what_is_not_covered_in_the_cli_the_map_and_the_study(tmp_path, study, cli):
    p = write(tmp_path / "interviu.txt",
              "Intervievator: Cum ați deschis contul?\n"
              "Ana: Din aplicație, a fost simplu, dar verificarea identității a durat foarte mult.\n"
              "Intervievator: Și cardul?\n"
              f"Ana: {RO}\n")
    e = write(tmp_path / "p.txt", f"Interviewer: And the card?\nP1: {EN}\n")
    with Store.open(study) as s:
        ingest_paths(s, [p, e], progress=False)
    code, out, _ = cli("code", "--study", str(study), "--embed", "off", "--no-progress")
    assert code == 0
    line = next(ln for ln in out.splitlines() if "Romanian" in ln)
    assert line.startswith("2 excerpts in Romanian (ro): no coder covers stage, pain point, emotion")
    with Store.open(study) as s:
        coded = s.codings().merge(s.excerpts()[["excerpt_id", "language"]], on="excerpt_id")
        assert set(coded["language"]) == {"en"}                      # nothing Romanian was coded
        info = s.info()
        cov = json.loads(info["coding.languages"])
        assert cov["ro"]["n"] == 2 and cov["en"]["n"] == 1 and cov["ro"]["coders"]["emotion"] is None
        assert study_coverage_lines(info) == [line]
        assert line in load_map_inputs(s).notes                   # the map and its report say it too
    assert coverage_lines({"*": {"n": 0, "coders": {"stage": "a"}}, "en": {"n": 3, "coders": {"stage": "a"}}}) == []


@pytest.mark.slow
def test_the_multilingual_embedding_coder_codes_a_romanian_complaint_about_waiting(tmp_path, study):
    p = write(tmp_path / "interviu.txt", f"Intervievator: Și cardul?\nAna: {RO}\nIntervievator: Și apoi?\n"
                                         "Ana: Am sunat de cinci ori și tot nu mi-au spus nimic.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        coder = default_coder(emotion="model", embed="auto", cache=s)
        if not any(c.id.startswith("embed@") for c in coder.coders):
            pytest.skip("the embedding encoder is not installed")
        code_study(s, coder)
        c = s.codings().merge(s.excerpts()[["excerpt_id", "text"]], on="excerpt_id")
    mine = c[c["text"] == RO]
    got = dict(zip(mine["dimension"], zip(mine["code_id"], mine["coder"])))
    assert got["pain_point"][0] == "waiting" and got["pain_point"][1].startswith("embed@")
    assert set(c["coder"].str.split("@").str[0]) == {"embed"}          # nothing by the English/Spanish coders


def test_codebooks_carry_labels_per_language_and_maps_use_them(tmp_path, study, cli):
    from workbench.codebook import parse_codebook, resolve, to_yaml
    from workbench.errors import CodebookError

    pains = resolve("pain_points")
    waiting = pains.get("waiting")
    assert waiting.label_in("ro") == "Așteptare și întârzieri" and waiting.label_in("xx") == waiting.label
    assert waiting.examples["ro"] and "ro" not in waiting.cues        # examples teach the model; no Romanian cue list
    assert parse_codebook(to_yaml(pains)).get("waiting").labels == waiting.labels      # round trip
    with pytest.raises(CodebookError, match="not a language code"):
        parse_codebook(to_yaml(pains).replace("    ro:", "    romanian:", 1))
    p = write(tmp_path / "p.txt", f"Interviewer: And the card?\nP1: {EN}\nInterviewer: Then?\nP1: I called five times.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
    assert cli("code", "--study", str(study), "--embed", "off", "--no-progress")[0] == 0
    assert cli("map", "--study", str(study), "--out", str(tmp_path / "ro"), "--label-language", "ro")[0] == 0
    assert cli("map", "--study", str(study), "--out", str(tmp_path / "en"))[0] == 0
    ro, en = (json.loads((tmp_path / d / "study.json").read_text(encoding="utf-8")) for d in ("ro", "en"))
    claims = (tmp_path / "ro" / "claims.csv").read_text(encoding="utf-8")
    assert "Așteptare și întârzieri" in claims and "Waiting and delay" in (tmp_path / "en" / "claims.csv").read_text()
    assert ro["settings"]["label_language"] == "ro" and "label_language" not in en["settings"]


def test_the_file_output_lists_every_emotion_beside_the_most_probable_family():
    from workbench.coding.run import OUTPUT_COLUMNS

    assert OUTPUT_COLUMNS.index("emotions") == OUTPUT_COLUMNS.index("emotion_family") + 1
    df = code_frame(default_coder(emotion="model", embed="off"), ["I'm so angry, they charged me twice.", "ok"])
    assert df.loc[0, "emotions"] == df.loc[0, "emotion_family"] == "anger" and df.loc[1, "emotions"] == ""
