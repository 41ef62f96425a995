"""Coding speed: excerpts/s for full coding (all dimensions), rules, model+rules and the embedding coder.

    python benchmarks/coding_speed.py [--n 100000] [--n-embed 5000]

Codes a CSV of N excerpts (conversations of 8) the way `workbench code` does — streamed in
batches of 2,000, every dimension, output written — and prints excerpts/s and the peak memory.
Targets on 2 cores: rules path >= 2,000 excerpts/s; embedding path >= 150 excerpts/s for a first
coding (every text new to the vector cache) and >= 2,000 excerpts/s for a re-code from cached
vectors. The embedding runs use ``--n-embed`` distinct texts (real customer posts from
``benchmarks/external.py`` when present, else the samples below with a reference number), and a
fresh vector cache for the first coding.
"""
from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.coding import emotion_model  # noqa: E402
from workbench.coding.run import code_file, default_coder  # noqa: E402

SAMPLES = ["still no card, day 12", "The selfie check failed three times, so I went to the branch.",
           "Thanks, that fixed it! Great service", "Me cobraron cinco euros de mantenimiento y nadie me avisó.",
           "I use Bizum every day and the app is great.", "Llevo cuarenta minutos esperando al teléfono.",
           "oh fantastic, another form to fill in", "It wasn't slow at all, honestly impressed"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--n-embed", type=int, default=5_000)
    args = ap.parse_args()
    rng = random.Random(3)
    model = emotion_model.load()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "excerpts.csv"
        with src.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["conversation", "text"])
            for i in range(args.n):
                w.writerow([i // 8, rng.choice(SAMPLES) + f" (ref {i})"])
        for name, coder in (("rules", default_coder()), ("model+rules", default_coder(emotion="model") if model else None)):
            if coder is None:
                print(f"{name:12s} skipped: the emotion model is not trained (run `workbench train`)")
                continue
            t0 = time.perf_counter()
            n = code_file(coder, src, Path(d) / f"{name}.csv", "text", batch_size=2000, group_column="conversation")
            dt = time.perf_counter() - t0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{name:12s} {n / dt:,.0f} excerpts/s ({n:,} excerpts in {dt:.1f} s); peak RSS so far {rss:,.0f} MB")


    embed_speed(args.n_embed)


def embed_speed(n: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from external import airline

    posts = airline("en")
    es = airline("es")
    texts = (list(posts["text"][: n // 2]) + list(es["text"][: n - n // 2])) if posts is not None and es is not None \
        else [random.Random(i).choice(SAMPLES) + f" (ref {i})" for i in range(n)]
    texts = texts[:n]
    with tempfile.TemporaryDirectory() as d:
        from workbench.coding.embed import DiskCache    # a cold vector cache in this folder

        src = Path(d) / "posts.csv"
        with src.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text"])
            w.writerows([t] for t in texts)
        coder = default_coder(emotion="model", embed="auto", cache=DiskCache(Path(d) / "vectors.sqlite"))
        if not any(c.id.startswith("embed@") for c in coder.coders):
            print("embed        skipped: no encoder installed")
            return
        for label in ("embed first", "embed cached"):
            t0 = time.perf_counter()
            k = code_file(coder, src, Path(d) / "out.csv", "text", batch_size=2000)
            dt = time.perf_counter() - t0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{label:12s} {k / dt:,.0f} excerpts/s ({k:,} distinct posts in {dt:.1f} s); peak RSS so far {rss:,.0f} MB")


if __name__ == "__main__":
    main()
