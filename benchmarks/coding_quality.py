"""Coding quality: macro-F1 per dimension on data the coders were not tuned on (prints numbers).

    python benchmarks/coding_quality.py

1. GoEmotions `test` split (15 % of the shipped train file, by comment-id hash; never used to
   train or choose settings): Ekman family + neutral macro-F1 (target >= 0.50; published
   BERT-base 0.64 on the official test split, multi-label) and 3-class sentiment (the paper's
   positive/negative groups; ambiguous and neutral → neutral).
2. The sample corpora's gold subset (334 excerpts, team-written and team-coded), in its declared
   parts: `dev` (the call log and interviews p15, p17, p19, p21; cues were tuned looking at it)
   and `test` (the other interviews and the usability notes; never looked at while tuning):
   stage (the study's own stage model), pain point, emotion family, 3-class sentiment.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.codebook import load_codebook, resolve  # noqa: E402
from workbench.coding import emotion_model  # noqa: E402
from workbench.coding.metrics import evaluate  # noqa: E402
from workbench.coding.rules import ModelEmotionCoder, RulesCoder, sentiment  # noqa: E402
from workbench.coding.run import code_frame, study_inputs  # noqa: E402
from workbench.demo import run_demo  # noqa: E402
from workbench.store import Store  # noqa: E402


GOLD_DEV = ("horizonte_contact_centre", "p15_", "p17_", "p19_", "p21_")


def goemotions_sentiment(labels: str, names: list[str], groups: dict) -> str:
    pos = sum(names[int(x)] in groups["positive"] for x in labels.split(","))
    neg = sum(names[int(x)] in groups["negative"] for x in labels.split(","))
    return "positive" if pos > neg else "negative" if neg > pos else "neutral"


def main() -> None:
    rules = RulesCoder(load_codebook(ROOT / "corpora" / "codebooks" / "horizonte_retail.yaml"), resolve("pain_points"),
                       resolve("emotions"), resolve("touchpoints"), resolve("actors"))
    model = emotion_model.load()
    coders = {"lexicon": None, "model+lexicon": ModelEmotionCoder(model, rules) if model else None}
    df = emotion_model.goemotions()
    test = df[df["split"] == "test"]
    names = (emotion_model.DATA / "emotions.txt").read_text().split()
    groups = json.loads((emotion_model.DATA / "sentiment_mapping.json").read_text())
    gold_sent = [goemotions_sentiment(x, names, groups) for x in test["labels"]]
    print(f"GoEmotions test split: {len(test)} comments (held out by id hash)")
    for name, ec in coders.items():
        if name != "lexicon" and ec is None:
            print(f"  {name}: skipped (scikit-learn missing)")
            continue
        t0 = time.perf_counter()
        out = code_frame(rules, list(test["text"]), emotion_coder=ec)
        fam = evaluate(list(test["family"]), list(out["emotion_family"]))
        sen = evaluate(gold_sent, list(out["sentiment"]))
        print(f"  {name:14s} Ekman+neutral macro-F1 {fam.macro_f1:.3f} (acc {fam.accuracy:.3f}); "
              f"3-class sentiment macro-F1 {sen.macro_f1:.3f}; {len(test) / (time.perf_counter() - t0):,.0f} texts/s")

    gold = pd.read_csv(ROOT / "corpora" / "gold" / "gold_excerpts.csv", dtype=str, keep_default_na=False)
    with tempfile.TemporaryDirectory() as d:
        run_demo(ROOT / "corpora", Path(d), progress=False, notebook=False)
        with Store.open(Path(d) / "study.db") as store:
            ex = study_inputs(store)
    gold["part"] = ["dev" if n.startswith(GOLD_DEV) else "test" for n in gold["source_name"]]
    print(f"Gold subset: {len(gold)} excerpts (team-written, team-coded); dev {sum(gold['part'] == 'dev')}, "
          f"test {sum(gold['part'] == 'test')}")
    for name, ec in coders.items():
        if name != "lexicon" and ec is None:
            continue
        coded = pd.concat([ex[["excerpt_id"]], code_frame(rules, list(ex["text"]), list(ex["context"]),
                                                          list(ex["source_id"]), ec)], axis=1)
        merged = gold.merge(coded, on="excerpt_id", suffixes=("_gold", ""))
        merged["pain_pred"] = merged["pain_point"].replace("", "none")
        merged["sentiment_gold"] = merged["valence_gold"].astype(float).map(sentiment)
        for part in ("dev", "test"):
            m = merged[merged["part"] == part]
            parts = []
            for label, g, p in (("stage", "stage_gold", "stage"), ("pain point", "pain_point_gold", "pain_pred"),
                                ("emotion family", "emotion_family_gold", "emotion_family"),
                                ("sentiment", "sentiment_gold", "sentiment")):
                parts.append(f"{label} {evaluate(list(m[g]), list(m[p])).macro_f1:.3f}")
            print(f"  {name:14s} {part:4s} macro-F1: " + "; ".join(parts))


if __name__ == "__main__":
    main()
