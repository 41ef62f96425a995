"""Coding quality on data the coders were not tuned on: zero examples, then learning curves (prints numbers).

    python benchmarks/coding_quality.py            # everything (~10 min on 2 cores the first time; vectors are cached)
    python benchmarks/coding_quality.py --skip-curves

Held-out sets (each split once; settings were chosen on the tune/dev parts only):

1. Real customer-service posts, 3-class sentiment (``benchmarks/external.py``: US airline tweets,
   English; Spanish airline tweets) — ``test`` part (70 %); the ``tune`` part gives the examples.
2. GoEmotions ``test`` split (15 % by comment-id hash): Ekman family + neutral, 3-class sentiment.
3. Real complaints with an annotated reason (``benchmarks/data/airline_complaints.csv``, ``test``
   part) and praise (positive posts of set 1's test part): share given a pain point.
4. The sample corpora's gold subset (team-written and team-coded): ``dev`` part (call log and
   interviews p15, p17, p19, p21) as examples, ``test`` part scored: stage (the study's own model),
   pain point, emotion family, sentiment.

Reported per coder: macro-F1, expected calibration error (ECE, 10 bins) of the dimension's
confidence, and for sentiment the Spearman correlation of ``valence`` with the labels.
Learning curves: the embedding coder adapted to 0, 50, 100, 200, 500 labelled examples taken in
random order or least-certain first (the review queue's order), against a plain encoder + logistic
regression trained on the same examples.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from external import airline  # noqa: E402
from workbench.codebook import load_codebook  # noqa: E402
from workbench.coding import emotion_model  # noqa: E402
from workbench.coding.embed import ece, embed, DiskCache  # noqa: E402
from workbench.coding.metrics import evaluate, weighted_kappa  # noqa: E402
from workbench.coding.rules import mask, sentiment  # noqa: E402
from workbench.coding.run import code_frame, default_coder, study_inputs  # noqa: E402
from workbench.demo import run_demo  # noqa: E402
from workbench.store import Store  # noqa: E402

GOLD_DEV = ("horizonte_contact_centre", "p15_", "p17_", "p19_", "p21_")
SENT = ["negative", "neutral", "positive"]
STAGES = load_codebook(ROOT / "corpora" / "codebooks" / "horizonte_retail.yaml")


def spearman(a, b) -> float:
    return float(pd.Series(list(a), dtype=float).rank().corr(pd.Series(list(b), dtype=float).rank()))


def scores(gold, pred, conf) -> str:
    r = evaluate(list(gold), list(pred))
    correct = np.array([g == p for g, p in zip(gold, pred)])
    c = pd.to_numeric(pd.Series(list(conf)), errors="coerce").fillna(0.0).to_numpy()
    return f"macro-F1 {r.macro_f1:.3f} (acc {r.accuracy:.3f}, ECE {ece(c, correct):.3f})"


def coders(examples=None) -> dict:
    out = {"rules+emotion@1": default_coder(STAGES, emotion="model")}
    chain = default_coder(STAGES, emotion="model", embed="auto", cache=DiskCache(), examples=examples)
    if any(c.id.startswith("embed@") for c in chain.coders):
        out["+embed@1"] = chain
    else:
        print("  (the embedding coder is not available: only the rules and emotion model are scored)")
    return out


def customer_posts(results: dict) -> None:
    print("\n1. Customer-service posts, 3-class sentiment (test part, never tuned on)")
    for lang in ("en", "es"):
        df = airline(lang)
        if df is None:
            continue
        test = df[df["part"] == "test"]
        for name, coder in coders().items():
            t0 = time.perf_counter()
            out = code_frame(coder, list(test["text"]))
            dt = time.perf_counter() - t0
            val = {"negative": -1, "neutral": 0, "positive": 1}
            rho = spearman(out["valence"], test["sentiment"].map(val))
            print(f"  {lang} {name:16s} n={len(test):,} sentiment {scores(test['sentiment'], out['sentiment'], out['sentiment_confidence'])}"
                  f"; valence Spearman {rho:.3f}; {len(test) / dt:,.0f} texts/s")
            results[f"{lang}_posts_{name}"] = evaluate(list(test["sentiment"]), list(out["sentiment"])).macro_f1
            if lang == "en":
                results[f"praise_{name}"] = float((out.loc[(test["sentiment"] == "positive").to_numpy(), "pain_point"] != "").mean())


def goemotions(results: dict) -> None:
    df = emotion_model.goemotions()
    test = df[df["split"] == "test"]
    names = (emotion_model.DATA / "emotions.txt").read_text().split()
    groups = json.loads((emotion_model.DATA / "sentiment_mapping.json").read_text())

    def sent(labels: str) -> str:
        pos = sum(names[int(x)] in groups["positive"] for x in labels.split(","))
        neg = sum(names[int(x)] in groups["negative"] for x in labels.split(","))
        return "positive" if pos > neg else "negative" if neg > pos else "neutral"

    gold_sent = [sent(x) for x in test["labels"]]
    print(f"\n2. GoEmotions test split: {len(test):,} comments (held out by id hash)")
    for name, coder in coders().items():
        out = code_frame(coder, list(test["text"]))
        print(f"  {name:16s} Ekman+neutral {scores(test['family'], out['emotion_family'], out['emotion_confidence'])}; "
              f"sentiment {scores(gold_sent, out['sentiment'], out['sentiment_confidence'])}")
        results[f"goemotions_family_{name}"] = evaluate(list(test["family"]), list(out["emotion_family"])).macro_f1
    from workbench.coding import training_data

    td = training_data.load()
    td = td[(td["split"] == "test") & td["annotated_in_language"] & (td["family"] != "") & td["lang"].isin(["es", "ro"])]
    print(f"  Spanish (BRIGHTER) and Romanian (RED) annotated in language, shipped data's test split "
          f"(never trained or tuned on): {len(td):,} texts")
    for name, coder in coders().items():
        out = code_frame(coder, list(td["text"]))
        line = []
        for lang in ("es", "ro"):
            m = (td["lang"] == lang).to_numpy()
            line.append(f"{lang} n={m.sum():,} Ekman+neutral {scores(td['family'][m], out['emotion_family'][m], out['emotion_confidence'][m])}")
        print(f"  {name:16s} " + "; ".join(line))


def complaints(results: dict) -> None:
    df = pd.read_csv(ROOT / "benchmarks" / "data" / "airline_complaints.csv", dtype=str, keep_default_na=False)
    test = df[df["part"] == "test"]
    print(f"\n3. Annotated complaints (test part, n={len(test)}): share given a pain point; praise: see 1 (en)")
    for name, coder in coders().items():
        out = code_frame(coder, list(test["text"]))
        share = float((out["pain_point"] != "").mean())
        results[f"complaints_{name}"] = share
        praise = results.get(f"praise_{name}")
        print(f"  {name:16s} complaints with a pain point {share:.1%}" +
              (f"; praise with a pain point {praise:.1%}" if praise is not None else ""))


def gold_sets():
    gold = pd.read_csv(ROOT / "corpora" / "gold" / "gold_excerpts.csv", dtype=str, keep_default_na=False)
    with tempfile.TemporaryDirectory() as d:
        run_demo(ROOT / "corpora", Path(d), progress=False, notebook=False)
        with Store.open(Path(d) / "study.db") as store:
            ex = study_inputs(store)
    gold["part"] = ["dev" if n.startswith(GOLD_DEV) else "test" for n in gold["source_name"]]
    return gold, ex


def gold_subset(results: dict, gold, ex) -> None:
    print(f"\n4. Gold subset: {len(gold)} excerpts (team-written, team-coded); dev {sum(gold['part'] == 'dev')}, "
          f"test {sum(gold['part'] == 'test')}")
    dev = gold[gold["part"] == "dev"].drop(columns=["text"], errors="ignore").merge(ex[["excerpt_id", "text"]], on="excerpt_id")
    examples = {"stage": (list(dev["text"]), list(dev["stage"]))}
    runs = list(coders().items())
    adapted = coders(examples)
    if "+embed@1" in adapted:
        runs.append(("+embed@1 +dev ex.", adapted["+embed@1"]))
    for name, coder in runs:
        coded = pd.concat([ex[["excerpt_id"]], code_frame(coder, list(ex["text"]), list(ex["context"]),
                                                          list(ex["source_id"]))], axis=1)
        m = gold.merge(coded, on="excerpt_id", suffixes=("_gold", ""))
        m["pain_pred"] = m["pain_point"].replace("", "none")
        m["sentiment_gold"] = m["valence_gold"].astype(float).map(sentiment)
        t = m[m["part"] == "test"]
        both = t[(t["pain_point_gold"] != "none") & (t["pain_pred"] != "none")]
        sev_gold, sev_pred = list(both["pain_severity_gold"].astype(int)), list(both["pain_severity"].astype(int))
        print(f"  {name:18s} test: severity (n={len(both)}, excerpts where gold and coder both see a pain) linear-weighted "
              f"kappa {weighted_kappa(sev_gold, sev_pred, [1, 2, 3]):.3f}, accuracy "
              f"{np.mean(np.array(sev_gold) == np.array(sev_pred)):.3f}; coder levels "
              f"{dict(sorted(pd.Series(sev_pred).value_counts().to_dict().items()))}, gold {dict(sorted(pd.Series(sev_gold).value_counts().to_dict().items()))}")
        print(f"  {name:18s} test: stage {scores(t['stage_gold'], t['stage'], t['stage_confidence'])}; "
              f"pain {scores(t['pain_point_gold'], t['pain_pred'], t['pain_point_confidence'])}; "
              f"family {evaluate(list(t['emotion_family_gold']), list(t['emotion_family'])).macro_f1:.3f}; "
              f"sentiment {evaluate(list(t['sentiment_gold']), list(t['sentiment'])).macro_f1:.3f}; "
              f"valence Spearman {spearman(t['valence'], t['valence_gold']):.3f}")
        results[f"gold_stage_{name}"] = evaluate(list(t["stage_gold"]), list(t["stage"])).macro_f1


def curves(results: dict) -> None:
    from sklearn.linear_model import LogisticRegression

    print("\n5. Learning curves: sentiment macro-F1 on the test part, examples from the tune part")
    cache = DiskCache()
    for lang in ("en", "es"):
        df = airline(lang)
        if df is None:
            continue
        tune, test = df[df["part"] == "tune"].reset_index(drop=True), df[df["part"] == "test"].reset_index(drop=True)
        base = default_coder(STAGES, emotion="model", embed="auto", cache=cache)
        enc = next((c.encoder for c in base.coders if hasattr(c, "encoder")), None)
        if enc is None:
            return
        xt = embed(enc, [mask(t) for t in test["text"]], cache)
        xp = embed(enc, [mask(t) for t in tune["text"]], cache)
        rng = np.random.default_rng(0)
        random_order = list(rng.permutation(len(tune)))
        for order in ("random", "uncertainty"):
            chosen: list[int] = []
            coder = base
            line = []
            for n in (0, 50, 100, 200, 500):
                if n > len(chosen):
                    if order == "random":
                        chosen = random_order[:n]
                    else:                 # the least certain of the pool under the coder adapted so far
                        left = [i for i in range(len(tune)) if i not in set(chosen)]
                        conf = code_frame(coder, list(tune["text"].iloc[left]))["sentiment_confidence"].to_numpy(float)
                        chosen = chosen + [left[i] for i in np.argsort(conf, kind="stable")[:n - len(chosen)]]
                    ex = {"sentiment": (list(tune["text"].iloc[chosen]), list(tune["sentiment"].iloc[chosen]))}
                    coder = default_coder(STAGES, emotion="model", embed="auto", cache=cache, examples=ex)
                out = code_frame(coder, list(test["text"]))
                f1 = evaluate(list(test["sentiment"]), list(out["sentiment"])).macro_f1
                cell = f"{n}: {f1:.3f}"
                if order == "random" and n:
                    y = list(tune["sentiment"].iloc[chosen])
                    if len(set(y)) > 1:
                        lr = LogisticRegression(max_iter=2000, class_weight="balanced").fit(xp[chosen], y)
                        cell += f" (plain LR {evaluate(list(test['sentiment']), list(lr.predict(xt))).macro_f1:.3f})"
                line.append(cell)
                results[f"curve_{lang}_{order}_{n}"] = f1
            print(f"  {lang} {order:11s} " + "; ".join(line))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-curves", action="store_true")
    ap.add_argument("--only", help="comma-separated sections to run: posts,goemotions,complaints,gold,curves")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else {"posts", "goemotions", "complaints", "gold", "curves"}
    if args.skip_curves:
        only.discard("curves")
    results: dict = {}
    t0 = time.perf_counter()
    if "posts" in only:
        customer_posts(results)
    if "goemotions" in only:
        goemotions(results)
    if "complaints" in only:
        complaints(results)
    if "gold" in only:
        gold, ex = gold_sets()
        gold_subset(results, gold, ex)
    if "curves" in only:
        curves(results)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
