"""Theme-discovery quality against known reasons (prints numbers): ARI, NMI, outlier share, speed, memory.

    python benchmarks/themes_quality.py [--n 2000]

Data sets, none used to fit anything (labels are only used to score):
- generated complaints (``benchmarks/complaints.py``), ``dev`` wordings (settings were chosen
  looking at these) and ``test`` wordings (never looked at while choosing), EN + ES, with brand
  names, @handles, URLs and numbers, 8 reasons;
- the gold subset's pain-point excerpts (``corpora/gold``; interviews and call logs, EN + ES,
  9 reasons; written by the team, not tuned on for themes).
Each is run with the workbench's settings (masking, multilingual vocabulary, seeded UMAP/HDBSCAN,
outlier reduction, ``auto`` embedder) and with a BERTopic-defaults baseline (raw text, default
vectorizer, all-MiniLM-L6-v2 embeddings, min_topic_size 10).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from complaints import generate  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from workbench.themes import ThemeSettings, _minilm, find_themes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def baseline(texts: list[str]) -> tuple[list[int], int]:
    from bertopic import BERTopic
    from umap import UMAP
    embed = _minilm()
    emb = embed(texts)
    model = BERTopic(embedding_model=None, umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                                                          init="pca", random_state=0))
    topics, _ = model.fit_transform(texts, embeddings=emb)
    return list(topics), len(set(topics) - {-1})


def score(name: str, texts: list[str], reasons: list[str], min_size: int) -> list[dict]:
    rows = []
    t0 = time.perf_counter()
    ours = find_themes(texts, settings=ThemeSettings(min_size=min_size, seed=0))
    secs = time.perf_counter() - t0
    a = ours.assignments["theme_id"].tolist()
    rows.append({"data": name, "method": f"workbench ({ours.embedder.split(' ')[0]})", "n": len(texts),
                 "ARI": adjusted_rand_score(reasons, a), "NMI": normalized_mutual_info_score(reasons, a),
                 "outliers": sum(x == -1 for x in a) / len(a), "themes": len(ours.themes), "texts/s": len(texts) / secs,
                 "labels": "; ".join(ours.themes["label"].head(8))})
    t0 = time.perf_counter()
    b, k = baseline(texts)
    secs = time.perf_counter() - t0
    rows.append({"data": name, "method": "BERTopic defaults (MiniLM)", "n": len(texts),
                 "ARI": adjusted_rand_score(reasons, b), "NMI": normalized_mutual_info_score(reasons, b),
                 "outliers": sum(x == -1 for x in b) / len(b), "themes": k, "texts/s": len(texts) / secs, "labels": ""})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    rows = []
    for part in ("dev", "test"):
        data = generate(args.n, part)
        rows += score(f"generated {part}", [t for t, _ in data], [r for _, r in data], min_size=15)
    gold = pd.read_csv(ROOT / "corpora" / "gold" / "gold_excerpts.csv")
    gold = gold[gold["pain_point"] != "none"]
    rows += score("gold pain excerpts", gold["text"].tolist(), gold["pain_point"].tolist(), min_size=5)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(table.drop(columns="labels").round(3).to_string(index=False))
        print()
        for r in table[table["labels"] != ""].itertuples():
            print(f"{r.data}: {r.labels}")
    print(f"\npeak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
