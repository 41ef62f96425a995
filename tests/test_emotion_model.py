"""The offline emotion model: trained from shipped data, held-out split untouched, graceful fallback."""
from __future__ import annotations

import builtins

import pytest

from workbench.coding import emotion_model
from workbench.coding.run import code_frame, default_coder


@pytest.fixture(scope="module")
def model():
    return emotion_model.load()  # cached by `workbench train` in set-up; trains (~30 s) if missing


def test_splits_are_fixed_disjoint_and_cover_the_data():
    df = emotion_model.goemotions()
    assert len(df) == 43410
    sizes = df["split"].value_counts().to_dict()
    assert set(sizes) == {"train", "dev", "test"} and 0.13 < sizes["test"] / len(df) < 0.17
    again = emotion_model.goemotions()
    assert (again["split"] == df["split"]).all()  # by id hash, not by chance
    assert set(df["family"]) == {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"}


def test_model_codes_with_provenance_and_the_complaint_rule(model):
    coder = default_coder(emotion="model", brands=["Horizonte"])
    df = code_frame(coder, ["@BancoHorizonte still no card, day 12", "Thank you so much, that was wonderful!",
                            "Me cobraron cinco euros y nadie me avisó."])
    assert list(df["coders"]) == ["rules@2 + emotion@1"] * 3 and (df["emotion_confidence"] > 0).all()
    assert list(df["sentiment"]) == ["negative", "positive", "negative"]
    assert "model emotion@1" in df["rationale"][0] and "complaint" in df["rationale"][0]
    assert "Spanish text, lexicon" in df["rationale"][2]
    assert list(df["emotion_family"])[:2] == ["anger", "joy"]


def test_text_in_another_language_never_goes_to_the_english_model(model):
    """A Romanian complaint is not read by the English-only model (nor passed on as its evidence)."""
    coder = default_coder(emotion="model")
    ro = "Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon."
    emo = coder.code([ro, "Thank you so much, that was wonderful!"])["emotion"]
    assert "English-only" in emo[0].rationale and "family_probs" not in emo[0].detail
    assert "model emotion@1" in emo[1].rationale and set(emo[1].detail["family_probs"]) >= {"joy", "neutral"}


def test_held_out_quality_is_above_the_target(model):
    """Ekman + neutral macro-F1 on the untouched test split (target >= 0.50)."""
    from workbench.coding.metrics import macro_f1

    df = emotion_model.goemotions()
    test = df[df["split"] == "test"]
    pred = model.predict_proba(list(test["text"])).idxmax(axis=1)
    assert macro_f1(list(test["family"]), list(pred)) >= 0.50


def test_without_scikit_learn_the_lexicon_takes_over(monkeypatch, capsys, tmp_path, cli):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    assert emotion_model.load() is None
    assert "scikit-learn is not installed" in capsys.readouterr().err
    src = tmp_path / "p.csv"
    src.write_text('text\n"still no card, day 12"\n')
    code, out, err = cli("code", src, "--text-column", "text", "--out", tmp_path / "o.csv", "--no-progress")
    assert code == 0 and "lexicon only" in err and "annoyance" in (tmp_path / "o.csv").read_text()


def test_a_lexicon_family_the_model_does_not_know_is_still_counted():
    """An edited emotions codebook may name a family the model never learned: its cue still counts."""
    import pandas as pd

    from workbench.coding.emotion_coder import ModelEmotionCoder

    class NoJoy:
        id = "fake@1"

        def predict_proba(self, texts):
            return pd.DataFrame([{"anger": 0.1, "sadness": 0.1, "neutral": 0.8}] * len(texts))

    rules = default_coder().coders[0]
    [s] = ModelEmotionCoder(NoJoy(), rules).code(["Thank you so much, that was wonderful!"], [""], ["0"])["emotion"]
    assert "→ joy +" in s.rationale and s.alternatives and 0 < s.confidence <= 1
