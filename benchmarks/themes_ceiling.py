"""How far unsupervised themes can get on real complaints with the embedders this project can ship.

    python benchmarks/themes_ceiling.py [--seeds 3]

On the airline complaints' held-out test half (``benchmarks/data/``; masked as ``workbench themes
--keep Late,Cancelled`` masks them), for each offline embedder the workbench can use (all-MiniLM-L6-v2
and multilingual-e5-small):

- **supervised ceiling**: logistic regression on the embeddings, trained on the dev half's reason
  labels, scored on the test half. Clustering the same embeddings without labels rarely beats a
  classifier trained with them, so this bounds what any clustering of these embeddings reaches.
- **unsupervised**: clusterings of the test half's embeddings with k = 9 (the true number of
  reasons, which a researcher does not know) and k = 8 (the workbench's benchmark setting): k-means
  on the embeddings, spectral clustering, Ward and k-means on UMAP reductions (15 neighbours / 5
  dimensions as the workbench does, and 50 / 10), a Gaussian mixture on UMAP; mean over seeds.

A TF-IDF (words and word pairs) classifier is printed as the ceiling of word counts alone. The
labels are used to train the supervised rows and to score every row, never to fit a clustering.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

from workbench.themes import e5_embedder, minilm_embedder, masker, name_list  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def clusterings(emb: np.ndarray, k: int, seed: int) -> dict[str, np.ndarray]:
    from umap import UMAP
    out = {"k-means on embeddings": KMeans(k, n_init=10, random_state=seed).fit_predict(emb),
           "spectral (15-NN graph)": SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=15,
                                                        random_state=seed).fit_predict(emb)}
    for nn, dim in ((15, 5), (50, 10)):
        red = UMAP(n_neighbors=nn, n_components=dim, min_dist=0.0, metric="cosine", init="pca",
                   random_state=seed, n_jobs=1).fit_transform(emb)
        out[f"UMAP {nn}/{dim} + k-means"] = KMeans(k, n_init=10, random_state=seed).fit_predict(red)
        out[f"UMAP {nn}/{dim} + Ward"] = AgglomerativeClustering(k).fit_predict(red)
        out[f"UMAP {nn}/{dim} + Gaussian mixture"] = GaussianMixture(k, random_state=seed).fit(red).predict(red)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3, help="seeds per clustering (mean is printed)")
    args = ap.parse_args()
    airline = pd.read_csv(ROOT / "benchmarks" / "data" / "airline_complaints.csv", dtype={"tweet_id": str})
    parts = {p: airline[airline["part"] == p] for p in ("dev", "test")}
    masked = {}
    for p, d in parts.items():
        texts = d["text"].tolist()
        names, _ = name_list(texts, keep=("Late", "Cancelled"))
        mask = masker(texts, names=names)
        masked[p] = [mask(t) or "(empty)" for t in texts]
    y = {p: d["reason"].to_numpy() for p, d in parts.items()}
    rows = []
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(masked["dev"])
    clf = LogisticRegression(C=10.0, max_iter=3000).fit(vec.transform(masked["dev"]), y["dev"])
    rows.append({"embedder": "TF-IDF words + pairs", "method": "supervised ceiling (trained on dev labels)", "k": "",
                 "ARI": adjusted_rand_score(y["test"], clf.predict(vec.transform(masked["test"])))})
    for name, make in (("all-MiniLM-L6-v2", minilm_embedder), ("multilingual-e5-small", e5_embedder)):
        embed = make()
        t0 = time.perf_counter()
        emb = {p: np.asarray(embed(masked[p]), dtype=np.float32) for p in parts}
        rate = sum(len(v) for v in masked.values()) / (time.perf_counter() - t0)
        emb = {p: e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-12) for p, e in emb.items()}
        clf = LogisticRegression(C=2.0, max_iter=3000).fit(emb["dev"], y["dev"])
        rows.append({"embedder": name, "method": "supervised ceiling (trained on dev labels)", "k": "",
                     "ARI": adjusted_rand_score(y["test"], clf.predict(emb["test"])), "texts/s": rate})
        for k in (9, 8):
            scores: dict[str, list[float]] = {}
            for seed in range(args.seeds):
                for method, assigned in clusterings(emb["test"], k, seed).items():
                    scores.setdefault(method, []).append(adjusted_rand_score(y["test"], assigned))
            rows += [{"embedder": name, "method": m, "k": k, "ARI": float(np.mean(s)), "ARI sd": float(np.std(s))}
                     for m, s in scores.items()]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200):
        shown = table.round(3).astype(object)
        print(shown.where(table.notna(), "").to_string(index=False))
    best = table[table["k"] != ""].sort_values("ARI", ascending=False).iloc[0]
    print(f"\nbest clustering: {best['embedder']}, {best['method']}, k={best['k']}: ARI {best['ARI']:.3f}; "
          f"supervised ceilings: " + ", ".join(f"{r.embedder} {r.ARI:.3f}" for r in table[table["k"] == ""].itertuples()))


if __name__ == "__main__":
    main()
