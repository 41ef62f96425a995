"""Coding speed: excerpts/s for full coding (all dimensions), rules and model+rules (prints numbers).

    python benchmarks/coding_speed.py [--n 20000]
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.coding import emotion_model  # noqa: E402
from workbench.coding.rules import ModelEmotionCoder  # noqa: E402
from workbench.coding.run import code_frame, default_coder  # noqa: E402

SAMPLES = ["still no card, day 12", "The selfie check failed three times, so I went to the branch.",
           "Thanks, that fixed it! Great service", "Me cobraron cinco euros de mantenimiento y nadie me avisó.",
           "I use Bizum every day and the app is great.", "Llevo cuarenta minutos esperando al teléfono.",
           "oh fantastic, another form to fill in", "It wasn't slow at all, honestly impressed"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    rng = random.Random(3)
    texts = [rng.choice(SAMPLES) + f" (ref {i})" for i in range(args.n)]
    groups = [str(i // 8) for i in range(args.n)]
    coder = default_coder()
    model = emotion_model.load()
    for name, ec in (("rules", None), ("model+rules", ModelEmotionCoder(model, coder) if model else None)):
        t0 = time.perf_counter()
        code_frame(coder, texts, groups=groups, emotion_coder=ec)
        dt = time.perf_counter() - t0
        print(f"{name:12s} {args.n / dt:,.0f} excerpts/s ({args.n:,} excerpts in {dt:.1f} s)")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
