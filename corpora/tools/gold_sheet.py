"""Draw the gold subset and write the coding sheet (how corpora/gold/ was made).

    python corpora/tools/gold_sheet.py [--n 360] [--seed 20260320]

Ingests corpora/ into a temporary study exactly as `workbench demo` does, takes every excerpt in
the customer's own voice (roles participant and customer), and draws a seeded sample stratified
by source file (proportional, at least 8 per file). Writes corpora/gold/to_code.csv with the turn
before and after as context; coders fill the label columns following CODING-GUIDE.md, and the
coded rows become corpora/gold/gold_excerpts.csv.
"""
from __future__ import annotations

import argparse
import math
import random
import tempfile
from pathlib import Path

import pandas as pd

from workbench.demo import PARTS
from workbench.ingest import Metadata
from workbench.pipeline import ingest_paths
from workbench.store import Store

CORPORA = Path(__file__).resolve().parent.parent
LABELS = ["stage", "pain_point", "pain_severity", "emotion_family", "valence"]


def eligible(store: Store) -> pd.DataFrame:
    ex = store.excerpts()
    turns = store.turns()[["source_id", "turn_index", "text"]]
    ex = ex[ex["role"].isin(["participant", "customer"])].copy()
    prev = turns.assign(turn_index=turns["turn_index"] + 1).rename(columns={"text": "context_before"})
    nxt = turns.assign(turn_index=turns["turn_index"] - 1).rename(columns={"text": "context_after"})
    ex = ex.merge(prev, on=["source_id", "turn_index"], how="left").merge(nxt, on=["source_id", "turn_index"], how="left")
    return ex


def draw(ex: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    picked = []
    total = len(ex)
    files = ex["source_name"].str.split("#").str[0]  # a call log's conversations form one stratum
    for _, group in sorted(ex.groupby(files), key=lambda kv: kv[0]):
        k = min(len(group), max(8, math.ceil(n * len(group) / total)))
        ids = sorted(group["excerpt_id"])
        picked.extend(rng.sample(ids, k))
    return ex[ex["excerpt_id"].isin(picked)].sort_values(["source_name", "start"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=360)
    ap.add_argument("--seed", type=int, default=20260320)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        store = Store.create(Path(d) / "gold.db")
        ingest_paths(store, [CORPORA / p for p in PARTS], metadata=Metadata.load(CORPORA / "metadata.csv"), progress=False)
        sheet = draw(eligible(store), args.n, args.seed)
        store.close()
    cols = ["excerpt_id", "source_name", "speaker", "language", "start", "end", "context_before", "text", "context_after"]
    out = sheet[cols].assign(**{c: "" for c in LABELS})
    out.to_csv(CORPORA / "gold" / "to_code.csv", index=False, lineterminator="\n")
    print(f"{len(out)} excerpts from {out['source_name'].nunique()} sources -> corpora/gold/to_code.csv")


if __name__ == "__main__":
    main()
