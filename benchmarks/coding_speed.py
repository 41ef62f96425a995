"""Coding speed: excerpts/s for full coding (all dimensions), rules and model+rules (prints numbers).

    python benchmarks/coding_speed.py [--n 100000]

Codes a CSV of N excerpts (conversations of 8) the way `workbench code` does — streamed in
batches of 2,000, every dimension, output written — and prints excerpts/s and the peak memory.
Target: >= 2,000 excerpts/s with the default coders on 2 cores.
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
from workbench.coding.rules import ModelEmotionCoder  # noqa: E402
from workbench.coding.run import code_file, default_coder  # noqa: E402

SAMPLES = ["still no card, day 12", "The selfie check failed three times, so I went to the branch.",
           "Thanks, that fixed it! Great service", "Me cobraron cinco euros de mantenimiento y nadie me avisó.",
           "I use Bizum every day and the app is great.", "Llevo cuarenta minutos esperando al teléfono.",
           "oh fantastic, another form to fill in", "It wasn't slow at all, honestly impressed"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    rng = random.Random(3)
    coder = default_coder()
    model = emotion_model.load()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "excerpts.csv"
        with src.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["conversation", "text"])
            for i in range(args.n):
                w.writerow([i // 8, rng.choice(SAMPLES) + f" (ref {i})"])
        for name, ec in (("rules", None), ("model+rules", ModelEmotionCoder(model, coder) if model else None)):
            if name != "rules" and ec is None:
                print(f"{name:12s} skipped: the emotion model is not trained (run `workbench train`)")
                continue
            t0 = time.perf_counter()
            n = code_file(coder, src, Path(d) / f"{name}.csv", "text", batch_size=2000, group_column="conversation",
                          emotion_coder=ec)
            dt = time.perf_counter() - t0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{name:12s} {n / dt:,.0f} excerpts/s ({n:,} excerpts in {dt:.1f} s); peak RSS so far {rss:,.0f} MB")


if __name__ == "__main__":
    main()
