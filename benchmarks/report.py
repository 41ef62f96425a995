"""Map + report speed: a synthetic study of N coded customer excerpts → journey map → report (prints numbers).

    python benchmarks/report.py [--n 100000]

Builds a study with N excerpts (a call log: conversations of 40 messages, 2 segments), stores machine codings
for stage, pain point, emotion, touchpoint, activity and (on questions and worries) thought (one store transaction), then times
`build_map` and `write_report` (HTML, CSVs, study.json; PNG/SVG timed separately) and prints the
seconds and the HTML size. Target: < 5 s and < 20 MB for 100,000 excerpts on 2 cores.
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

import vl_convert  # noqa: E402

from workbench import charts  # noqa: E402
from workbench.model import Coding  # noqa: E402
from workbench.pipeline import ingest_paths  # noqa: E402
from workbench.report import write_report  # noqa: E402
from workbench.journey import build_map  # noqa: E402
from workbench.store import Store  # noqa: E402

STAGES = ["awareness", "consideration", "purchase", "retention_advocacy"]
PAINS = ["none", "none", "waiting", "effort_repetition", "price_surprise", "broken_flow"]
EMOTIONS = [("annoyance", -0.5), ("joy", 0.8), ("neutral", 0.0), ("confusion", -0.2), ("gratitude", 0.7)]
TOUCH = ["app", "web", "phone", "branch"]
ACTIVITIES = ["compares_options", "applies_or_signs_up", "verifies_identity", "keeps_using", "contacts_support",
              "recommends_to_others"]
PHRASES = ["the selfie check failed", "waited twelve days for the card", "the app is great for transfers",
           "they charged me a fee nobody mentioned", "I called support three times", "I recommended it to a friend",
           "how long until my card arrives?", "I was worried they would charge me twice"]
THOUGHTS = {"how long until my card arrives?": "question", "I was worried they would charge me twice": "worry"}


def build(path: Path, n: int, seed: int = 7) -> None:
    """A call log of n customer messages (conversations of 40), ingested, then machine-coded."""
    rng = random.Random(seed)
    per = 40
    log = path.with_name("synthetic_calls.csv")
    with log.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["conversation_id", "role", "text", "segment", "csat"])
        for i in range(n):
            k = i // per
            phrase = rng.choice(PHRASES)
            w.writerow([f"C{k:05d}", "customer", f"Ticket {i}: {phrase}" + ("" if phrase.endswith("?") else "."),
                        ("small_business", "young_professional")[k % 2], 1 + k % 5])
    with Store.create(path, name="synthetic benchmark study") as store:
        ingest_paths(store, [log], progress=False)
        codings = []
        ex = store.excerpts()
        for i, (eid, text) in enumerate(zip(ex["excerpt_id"], ex["text"])):
            emo, val = rng.choice(EMOTIONS)
            pain = rng.choice(PAINS)
            codings += [Coding(eid, "stage", STAGES[min(3, (i % per) // 10)], "rules@2", 0.6, "cue"),
                        Coding(eid, "pain_point", pain, "rules@2", 0.6, "cue", value=None if pain == "none" else 2.0),
                        Coding(eid, "emotion", emo, "emotion@1", 0.6, "model", value=val),
                        Coding(eid, "touchpoint", rng.choice(TOUCH), "rules@2", 0.7, "cue"),
                        Coding(eid, "activity", rng.choice(ACTIVITIES), "rules@2", 0.7, "cue")]
            thought = next((k for p, k in THOUGHTS.items() if p in text), None)
            if thought:
                codings.append(Coding(eid, "thought", thought, "rules@2", 0.7, "cue"))
        store.add_codings(codings)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        study = Path(d) / "study.db"
        t0 = time.perf_counter()
        build(study, args.n)
        print(f"synthetic study: {args.n:,} customer messages, 5–6 codings per excerpt, built in {time.perf_counter() - t0:.1f} s")
        with Store.open(study) as store:
            t0 = time.perf_counter()
            jm = build_map(store, stage_model="awareness_advocacy")
            t_map = time.perf_counter() - t0
        t0 = time.perf_counter()
        files = write_report(jm, Path(d) / "report", images=False)
        t_report = time.perf_counter() - t0
        t0 = time.perf_counter()
        spec = charts.map_chart(jm).to_dict()
        vl_convert.vegalite_to_svg(spec)
        vl_convert.vegalite_to_png(spec, scale=2)
        t_img = time.perf_counter() - t0
        size = files["report.html"].stat().st_size / 1e6
        print(f"map: {t_map:.2f} s ({len(jm.claims)} claims); report (HTML + CSVs + JSON): {t_report:.2f} s; "
              f"total {t_map + t_report:.2f} s (target < 5 s)")
        print(f"report.html: {size:.1f} MB (target < 20 MB); map.png + map.svg take another {t_img:.1f} s")
        print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
