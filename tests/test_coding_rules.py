"""The rules coder: what a researcher relies on — cues, negation, sarcasm, complaints without a
feeling word, stage smoothing, provenance, and human decisions surviving a re-run."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import CORPORA, write
from workbench.codebook import resolve
from workbench.coding.cues import CueMatcher
from workbench.coding.run import OUTPUT_COLUMNS, code_frame, default_coder
from workbench.files import leftovers
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.store import Store


@pytest.fixture(scope="module")
def coder():
    return default_coder()


def one(coder, text):
    return code_frame(coder, [text]).iloc[0]


@pytest.mark.parametrize("text,pain", [
    ("@BancoHorizonte still no card, day 12", "waiting"),
    ("Llevo tres días esperando la tarjeta.", "waiting"),
    ("Third time I upload my NIE.", "effort_repetition"),
    ("The selfie check failed three times.", "broken_flow"),
    ("Me cobraron cinco euros de mantenimiento.", "price_surprise"),
    ("El chat me dijo que llamara por teléfono.", "channel_switching"),
    ("It wasn't slow at all, honestly impressed", ""),
    ("No tardaron nada, la verdad.", ""),
])
def test_pain_points_and_negated_complaints(coder, text, pain):
    row = one(coder, text)
    assert row["pain_point"] == pain, row["rationale"]
    if not pain and "slow" in text:
        assert "negated complaint: 'slow'" in row["rationale"]


def test_complaint_without_feeling_word_is_negative_not_neutral(coder):
    row = one(coder, "still waiting for my bag, 3 hours")
    assert (row["emotion"], row["emotion_family"], row["sentiment"]) == ("annoyance", "anger", "negative")
    assert "complaint without a feeling word" in row["rationale"]


def test_sarcasm_contrast_negation_and_emoji(coder):
    assert one(coder, "oh fantastic, another form to fill in")["sentiment"] == "negative"
    assert one(coder, "The app is amazing but the fees are ridiculous")["emotion"] == "anger"
    assert one(coder, "I'm not happy with this")["emotion"] == "disapproval"
    assert one(coder, "Thanks Marc 🙂")["sentiment"] == "positive"
    assert one(coder, "Qué alivio, de verdad.")["emotion"] == "relief"


def test_output_columns_and_valid_codes(coder):
    df = code_frame(coder, ["I opened the account in the app and the card arrived in three days."])
    assert list(df.columns) == OUTPUT_COLUMNS
    row = df.iloc[0]
    assert row["stage"] in {c.code_id for c in resolve("awareness_advocacy").codes}
    assert row["emotion_family"] in {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"}
    assert -1 <= row["valence"] <= 1 and 0 <= row["confidence"] <= 1
    assert row["touchpoint"] == "app"


def test_stage_smoothing_fills_excerpts_without_cues_from_their_neighbours():
    coder = default_coder("attraction_service")
    texts = ["I applied in the app on Sunday.", "It asked for lots of things.", "Then the selfie verification failed.",
             "Now I use Bizum every day.", "Honestly it is fine."]
    df = code_frame(coder, texts, groups=["s1"] * 5)
    assert list(df["stage"]) == ["trial", "trial", "trial", "use", "use"]
    assert df["stage_confidence"].iloc[1] < df["stage_confidence"].iloc[0]


def test_cue_matching_ignores_case_and_accents():
    m = CueMatcher({"consideration": ("cuánto cuesta",)})
    assert [x.code_id for x in m.find("hola, CUANTO cuesta la cuenta?")] == ["consideration"]


def test_cue_offsets_select_the_cue_in_the_original_text():
    """Folding keeps one character per character (the ASCII fast path and the rest alike), so a
    match's offsets select the cue in the original text: accents, emoji, ligatures, Turkish İ."""
    m = CueMatcher({"waiting": ("still waiting", "esperando"), "fees": ("cobraron",)})
    cases = {"Still waiting, 3 hours": "Still waiting", "Sigo ESPERANDO 😤 la tarjeta": "ESPERANDO",
             "İstanbul: me cobraron": "cobraron", "¿Me cobráron? ﬁne": "cobráron", "it’s still waiting": "still waiting"}
    for text, want in cases.items():
        [hit] = m.find(text)
        assert text[hit.start:hit.end] == want, text


def test_code_cli_keeps_input_columns_and_is_deterministic(tmp_path, cli):
    src = write(tmp_path / "posts.csv", 'id,text,csat\n1,"still no card, day 12",2\n2,"Thanks, great service!",5\n3,"",\n')
    out1, out2 = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli("code", src, "--text-column", "text", "--out", out1, "--batch-size", "2", "--no-progress")[0] == 0
    assert cli("code", src, "--text-column", "text", "--out", out2, "--no-progress")[0] == 0
    assert out1.read_bytes() == out2.read_bytes()
    df = pd.read_csv(out1, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["id", "text", "csat"] + OUTPUT_COLUMNS
    assert list(df["pain_point"]) == ["waiting", "", ""] and list(df["sentiment"]) == ["negative", "positive", "neutral"]


def test_code_cli_errors_leave_no_partial_output(tmp_path, cli):
    src = write(tmp_path / "posts.csv", "id,body\n1,hello\n")
    out = tmp_path / "out.csv"
    code, _, err = cli("code", src, "--text-column", "text", "--out", out, "--no-progress")
    assert code == 2 and "has no column 'text'; it has: id, body" in err
    assert not out.exists() and not leftovers(tmp_path)
    code, _, err = cli("code", src, "--text-column", "body", "--out", out, "--codebook", "pain_points")
    assert code == 2 and "takes a stage model" in err
    # the bad row comes after the first batch has been coded: nothing of that batch may reach OUT
    ragged = write(tmp_path / "ragged.csv", "text\n" + "still no card\n" * 30 + "still no card, day 12\n")
    code, _, err = cli("code", ragged, "--text-column", "text", "--out", out, "--no-progress", "--batch-size", "10")
    assert code == 2 and "line 32 has 2 fields but the header has 1" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not leftovers(tmp_path)
    out.write_text("the previous result\n")
    code, _, err = cli("code", ragged, "--text-column", "text", "--out", out, "--no-progress", "--batch-size", "10")
    assert code == 2 and out.read_text() == "the previous result\n" and not leftovers(tmp_path)


def test_code_study_stores_suggestions_and_never_overwrites_a_human(tmp_path, cli, study):
    p = write(tmp_path / "p.txt", "Interviewer: How did you open the account?\nP1: In the app. The selfie check failed "
              "three times.\nInterviewer: And now?\nP1: Now I use Bizum every day, it's great.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
    code, out, err = cli("code", "--study", study, "--codebook", "awareness_advocacy", "--embed", "off")
    assert code == 0, err
    with Store.open(study) as s:
        c = s.codings()
        first = c[c["dimension"] == "stage"]["excerpt_id"].iloc[0]
        assert set(c.loc[c["dimension"] != "emotion", "coder"]) == {"rules@2"} and (c["status"] == "suggested").all()
        assert set(c.loc[c["dimension"] == "emotion", "coder"]) == {"emotion@1"}  # the model, named in provenance
        assert c["rationale"].str.len().min() > 0
        machine_before = c[(c["excerpt_id"] == first) & (c["dimension"] == "stage")]["coding_id"].tolist()
        s.add_codings([Coding(first, "stage", "retention_advocacy", "human:ana", status="accepted")])
    assert cli("code", "--study", study, "--embed", "off")[0] == 0
    with Store.open(study) as s:
        c = s.codings()
        stage = c[(c["excerpt_id"] == first) & (c["dimension"] == "stage")]
        human = stage[stage["coder"] == "human:ana"]
        assert list(human["code_id"]) == ["retention_advocacy"] and list(human["status"]) == ["accepted"]
        # the re-run neither touched the human decision nor refreshed the machine suggestion under it
        assert stage[stage["coder"] == "rules@2"]["coding_id"].tolist() == machine_before


def test_a_plain_re_run_keeps_the_studys_own_stage_model(tmp_path, cli, study):
    """A study coded with its own stage model is not switched back to the default by `code --study`."""
    own = CORPORA / "codebooks" / "horizonte_retail.yaml"
    p = write(tmp_path / "p.txt", "Interviewer: How did you open the account?\nP1: In the app. The selfie check failed "
              "three times.\nInterviewer: And the card?\nP1: It took twelve days to arrive.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
    assert cli("code", "--study", study, "--codebook", own)[0] == 0
    stage_ids = {c.code_id for c in resolve(str(own)).codes}

    def stages_coded() -> tuple[str, set[str]]:
        with Store.open(study) as s:
            c = s.codings()
            return s.info()["coding.stage_model"], set(c.loc[c["dimension"] == "stage", "code_id"])

    code, out, err = cli("code", "--study", study)
    assert code == 0, err
    assert "stage model horizonte_retail (the study's own, kept" in out
    model, codes = stages_coded()
    assert model == "horizonte_retail" and codes <= stage_ids
    assert cli("code", "--study", study, "--codebook", "b2b_seven")[0] == 0   # an explicit choice changes it
    model, codes = stages_coded()
    assert model == "b2b_seven" and codes <= {c.code_id for c in resolve("b2b_seven").codes}


def test_a_source_without_any_stage_cue_gets_the_codebooks_default_stage(coder):
    row = one(coder, "Hola Pilar, soy Lucía.")
    assert row["stage"] == "retention_advocacy" and row["stage_confidence"] == 0.25
    assert "default stage retention_advocacy" in row["rationale"]


@pytest.mark.parametrize("text,level,cue", [
    ("I gave up and went to another bank, the app kept failing.", 3, "gave up"),
    ("Me bloquearon la tarjeta y no pude pagar el alquiler.", 3, "me bloquearon"),
    ("Forty minutes on hold, again.", 2, "again"),
    ("Llevo tres semanas esperando la tarjeta.", 2, "semanas"),
    ("The fee table was a bit confusing but fair enough.", 1, "a bit"),
    ("¿Dónde pone la comisión? No lo encuentro en la app.", 1, "donde pone"),
    ("Why is the transfer still pending?", 1, ""),                  # a question, nothing lost yet
    ("The transfer failed.", 2, ""),                                # a voiced pain: the rubric's default
    ("I didn't give up, the agent sorted it in the end.", 1, "sorted it"),   # a negated blocking cue does not count
])
def test_severity_is_graded_from_the_rubric_cues_with_a_readable_rationale(text, level, cue):
    from workbench.coding.rules import SeverityGrader

    got, why = SeverityGrader(resolve("pain_points")).grade(text)
    assert got == level, why
    assert why.startswith(f"severity {level} (") and cue in why


def test_severity_without_cues_in_a_codebook_is_the_default_and_says_so():
    from dataclasses import replace

    from workbench.coding.rules import SeverityGrader

    level, why = SeverityGrader(replace(resolve("pain_points"), severity_cues={})).grade("I gave up.")
    assert level == 2 and "no severity cues" in why
