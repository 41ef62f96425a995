"""The embedding coder: learns from the researcher's decisions and from example files, caches
vectors so a re-code costs only the heads, never touches a human decision, and says who coded what.

Mechanics are tested with a small deterministic bag-of-words encoder (no model download, fast);
``test_real_encoder_*`` use the shipped multilingual encoder when it is installed."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from conftest import write
from workbench.coding import embed as embed_mod
from workbench.coding.base import Chain
from workbench.coding.embed import EmbedCoder, embed, load_heads
from workbench.coding.run import code_frame, code_study, default_coder, read_examples, study_examples
from workbench.codebook import resolve
from workbench.errors import InputError
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.store import Store


class BagEncoder:
    """Hashed bag of words → 256-d unit vectors; counts how many texts it was asked to encode."""

    id = "bag@test-1"
    dim = 256
    languages = ("*",)

    def __init__(self):
        self.encoded = 0

    def encode(self, texts, on_progress=None):
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in str(t).lower().split():
                out[i, int(hashlib.md5(w.strip(".,!?¿¡").encode()).hexdigest(), 16) % self.dim] += 1
        out += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def bag_heads(tmp_path_factory):
    import os

    old = os.environ.get("WORKBENCH_CACHE")
    os.environ["WORKBENCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    saved = dict(embed_mod.SETTINGS)
    embed_mod.SETTINGS.update(cap_per_class=60)      # a small, fast training set for the mechanics
    try:
        enc = BagEncoder()
        yield enc, load_heads(enc)
    finally:
        embed_mod.SETTINGS.clear()
        embed_mod.SETTINGS.update(saved)
        if old is None:
            os.environ.pop("WORKBENCH_CACHE", None)
        else:
            os.environ["WORKBENCH_CACHE"] = old


def coder_with(bag_heads, examples=None, cache=None, tag=""):
    enc, heads = bag_heads
    rules = default_coder().coders[0]
    return Chain([rules, EmbedCoder(enc, heads, rules, cache, examples=examples, tag=tag)])


def test_codes_every_dimension_with_probabilities_and_readable_rationale(bag_heads):
    df = code_frame(coder_with(bag_heads), ["Still waiting for my refund, 3 weeks now.", "Gracias, todo perfecto."])
    assert set(df["coders"]) == {"embed@1"}         # it codes every dimension, the rules cues as its evidence
    assert df["emotion_confidence"].between(0, 1).all() and df["stage_confidence"].between(0, 1).all()
    r = df["rationale"][0]
    assert "cue 'still waiting'" in r and "embed@1: p(" in r and "nearest example '" in r
    assert df["pain_point"][0] == "waiting" and df["sentiment"][0] == "negative"


def test_examples_change_what_the_coder_suggests(bag_heads):
    texts = ["the lounge wifi was patchy", "lounge wifi dropped twice", "wifi in the lounge kept failing"]
    before = code_frame(coder_with(bag_heads), texts)
    examples = {"pain_point": (["the lounge wifi was slow", "lounge wifi cut out", "no wifi in the lounge at all"] * 3,
                                ["broken_flow"] * 9)}
    after = code_frame(coder_with(bag_heads, examples=examples, tag="examples:x"), texts)
    assert (before["pain_point"] != "broken_flow").any()
    assert (after["pain_point"] == "broken_flow").all()
    assert set(after["coders"]) == {"embed@1+examples:x"}


def test_a_study_learns_from_decisions_and_never_touches_them(tmp_path, study, bag_heads, cli):
    lines = ["Interviewer: How was the lounge?"] + [f"P1: The lounge wifi failed again, day {i}." for i in range(1, 9)]
    p = write(tmp_path / "p.txt", "\n".join(lines) + "\n")
    enc, heads = bag_heads
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        code_study(s, coder_with(bag_heads, cache=s))
        ex = s.excerpts(roles=("participant",)).sort_values("start")
        taught = list(ex["excerpt_id"][:4])
        s.add_codings([Coding(e, "pain_point", "broken_flow", "human:ana", status="accepted") for e in taught])
        before = s.codings()
        examples = study_examples(s, {c.code_id: c for c in resolve("emotions").codes})
        assert examples["pain_point"][1] == ["broken_flow"] * 4
        encoded = enc.encoded
        code_study(s, coder_with(bag_heads, examples=examples, cache=s, tag="study:t"))
        assert enc.encoded == encoded        # every vector came from the study's cache: only the heads ran
        c = s.codings()
    pain = c[c["dimension"] == "pain_point"]
    rest = pain[~pain["excerpt_id"].isin(taught)]
    assert set(rest["code_id"]) == {"broken_flow"} and set(rest["coder"]) == {"embed@1+study:t"}
    human = lambda df: df[df["coder"] == "human:ana"].sort_values("coding_id")[["coding_id", "code_id", "status"]]
    pd.testing.assert_frame_equal(human(c).reset_index(drop=True), human(before).reset_index(drop=True))


def test_vectors_are_cached_by_encoder_and_text(tmp_path, study, bag_heads):
    enc, _ = bag_heads
    with Store.open(study) as s:
        n = enc.encoded
        a = embed(enc, ["one text", "two text", "one text"], s)
        assert enc.encoded == n + 2                    # duplicates are encoded once
        b = embed(enc, ["two text", "one text"], s)
        assert enc.encoded == n + 2 and np.array_equal(a[[1, 0]], b)


def test_examples_file_is_read_with_blank_cells_unlabelled(tmp_path):
    f = write(tmp_path / "ex.csv", "text,stage,sentiment\nhola,,negative\nhow do I pay?,purchase,\n")
    ex = read_examples(f, "body")
    assert ex == {"stage": (["how do I pay?"], ["purchase"]), "sentiment": (["hola"], ["negative"])}
    bad = write(tmp_path / "bad.csv", "text,colour\nhola,red\n")
    with pytest.raises(InputError, match="no label column; give at least one of stage"):
        read_examples(bad, "text")


def test_real_encoder_cli_learns_from_an_examples_file(tmp_path, cli):
    """End to end with the shipped encoder and heads (trained by `workbench train` in set-up)."""
    pytest.importorskip("torch")
    src = write(tmp_path / "in.csv", "text\nthe lounge wifi was patchy\nel wifi de la sala no funcionaba\n")
    ex = write(tmp_path / "ex.csv", "text,pain_point\n" + "".join(
        f"{t},broken_flow\n" for t in ("lounge wifi cut out", "no wifi in the lounge", "the wifi kept dropping",
                                        "wifi in the lounge failed", "sin wifi en la sala")))
    plain, taught = tmp_path / "plain.csv", tmp_path / "taught.csv"
    assert cli("code", src, "--text-column", "text", "--out", plain, "--no-progress")[0] == 0
    code, _, err = cli("code", src, "--text-column", "text", "--examples", ex, "--out", taught, "--no-progress")
    assert code == 0, err
    a = pd.read_csv(plain, dtype=str, keep_default_na=False)
    b = pd.read_csv(taught, dtype=str, keep_default_na=False)
    assert set(a["coders"]) == {"embed@1"}
    assert len(set(b["coders"])) == 1 and b["coders"][0].startswith("embed@1+examples:")
    assert list(b["pain_point"]) == ["broken_flow", "broken_flow"]          # English and Spanish alike
    assert "nearest example" in b["rationale"][0]


def test_sentiment_examples_win_where_they_disagree_with_the_shipped_head(bag_heads):
    """A researcher whose study calls every "upgrade" post positive and every "queue" post negative
    (words the shipped data knows nothing about) gets that coding for new posts; the mixture weight
    came from cross-validating the examples, and the adapted probabilities stay probabilities."""
    pos = [f"the upgrade on flight {i} was a nice touch" for i in range(20)]
    neg = [f"the queue at gate {i} again" for i in range(20)]
    examples = {"sentiment": (pos + neg, ["positive"] * 20 + ["negative"] * 20)}
    coder = coder_with(bag_heads, examples=examples, tag="examples:s")
    emb = coder.coders[1]
    assert emb.adapt_report["sentiment"]["n"] == 40 and emb.adapt_report["sentiment"]["weight"] > 0
    new = ["an upgrade on flight 99", "the queue at gate 99"]
    after = code_frame(coder, new)
    assert list(after["sentiment"]) == ["positive", "negative"]
    assert after["sentiment_confidence"].between(0, 1).all()
    before = code_frame(coder_with(bag_heads), new)
    assert list(before["sentiment"]) != ["positive", "negative"]


RO_WAIT = "Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon."


def _without_romanian(rules):
    """The rules coder with the Romanian examples taken out of its codebooks."""
    import copy
    import dataclasses

    def strip(cb):
        return dataclasses.replace(cb, codes=[dataclasses.replace(c, examples={k: v for k, v in c.examples.items() if k != "ro"})
                                              for c in cb.codes])
    out = copy.copy(rules)
    out.stage_model = strip(rules.stage_model)
    out.codebooks = {dim: strip(cb) for dim, cb in rules.codebooks.items()}
    return out


def test_a_languages_own_codebook_examples_code_that_language_only(bag_heads):
    enc, heads = bag_heads
    rules = default_coder().coders[0]
    assert any("ro" in c.examples for c in rules.codebooks["pain_point"].codes)     # the shipped worked example
    with_ro = Chain([rules, EmbedCoder(enc, heads, rules)])
    plain = Chain([rules, EmbedCoder(enc, heads, _without_romanian(rules))])
    texts = ["Still waiting for my card, three weeks now.", "Llevo una hora en espera y nadie contesta.", RO_WAIT]
    langs = ["en", "es", "ro"]
    a, b = with_ro.code(texts, languages=langs), plain.code(texts, languages=langs)
    for dim in ("stage", "pain_point", "touchpoint"):       # English and Spanish: as if Romanian were not there
        for i in (0, 1):
            sa, sb = a[dim][i], b[dim][i]
            assert (sa and (sa.code_id, sa.confidence, sa.rationale)) == (sb and (sb.code_id, sb.confidence, sb.rationale))
    # the Romanian complaint is scored by the head that learnt the Romanian examples
    coder = with_ro.coders[1]
    x = embed(enc, [RO_WAIT])
    ro_head, base = coder.head_for("pain_point", ["ro"]), coder.head_for("pain_point", ["en"])
    assert ro_head.nearest(x, ["waiting"]) == [RO_WAIT] and base.nearest(x, ["waiting"]) != [RO_WAIT]
    waiting = base.classes.index("waiting")
    assert ro_head.proba(x)[0, waiting] > base.proba(x)[0, waiting]
    assert a["pain_point"][2].rationale != b["pain_point"][2].rationale
    # without its language a text is scored by the head of the codebook's cue languages
    assert with_ro.code(texts)["pain_point"][2].rationale == b["pain_point"][2].rationale
    # the code-each-distinct-text-once path gives every excerpt what coding it alone gives
    many = with_ro.code(texts * 400, languages=langs * 400)
    assert [(s.code_id, s.confidence, s.rationale) for s in many["pain_point"][3:6]] == \
        [(s.code_id, s.confidence, s.rationale) for s in a["pain_point"]]
