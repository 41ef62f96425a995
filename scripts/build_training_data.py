"""Build ``workbench/data/training/`` from the shared copies of the upstream data sets.

Run once by a maintainer (users never need it; the package ships its output):

    python scripts/build_training_data.py [/path/to/shared/data/training]

What it does, per source (see ``workbench/data/training/README.md`` for provenance):

- BRIGHTER: the six upstream CSV files, gzip'd byte for byte (they already hold only
  ``id, text`` and the 0/1 emotion columns).
- RED: ``train.csv`` / ``val.csv`` reduced to ``id`` (upstream column ``Unnamed: 0``, unique across
  both files), ``text`` (``Tweet``) and ``emotion`` (``Emotion``); the two positional index columns
  are dropped.
- MAMS: the XML turned into one row per aspect term: ``sentence_id`` (``train-00001`` …, the
  sentence's 1-based position in the upstream file), ``text``, ``term``, ``from``, ``to``,
  ``polarity``.
- XED: ``line`` (1-based line number in the upstream file), ``text``, ``labels`` (upstream numbers,
  ``", "``-separated). Upstream lines that are not ``text<TAB>labels`` (``neu_en.txt``:
  ``label<TAB>text``) with labels in 1..8 (9 for ``neu_en.txt``) are left out and counted: the
  Spanish and Romanian projection files hold some alignment-metadata lines with no labels and a
  few quoted lines broken across lines.

Output is deterministic (gzip header without a timestamp), so a rebuild of unchanged input leaves
git clean.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import shutil
import sys
from pathlib import Path

from defusedxml import ElementTree

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "workbench" / "data" / "training"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "training"
LABELS = re.compile(r"^\s*[1-8](\s*,\s*[1-8])*\s*$")


def _gzip(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())


def _write_csv(rows: list[list], header: list[str], path: Path) -> None:
    text = io.StringIO(newline="")
    w = csv.writer(text, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    _gzip(text.getvalue().encode("utf-8"), path)


def brighter(src: Path) -> None:
    for split in ("train", "dev"):
        for lang in ("eng", "esp", "ron"):
            name = f"{split}_{lang}.csv"
            _gzip((src / "brighter" / name).read_bytes(), OUT / "brighter" / f"{name}.gz")
            print(f"brighter/{name}: sha256 {hashlib.sha256((src / 'brighter' / name).read_bytes()).hexdigest()}")


def red(src: Path) -> None:
    for split in ("train", "val"):
        with open(src / "red" / f"{split}.csv", encoding="utf-8", newline="") as fh:
            rows = [[r["Unnamed: 0"], r["Tweet"], r["Emotion"]] for r in csv.DictReader(fh)]
        _write_csv(rows, ["id", "text", "emotion"], OUT / "red" / f"{split}.csv.gz")
        print(f"red/{split}.csv: {len(rows)} rows")
    shutil.copyfile(src / "red" / "LICENSE", OUT / "red" / "LICENSE")


def mams(src: Path) -> None:
    for split in ("train", "val"):
        root = ElementTree.parse(src / "mams" / f"{split}.xml").getroot()
        rows, n = [], 0
        for n, sentence in enumerate(root.iter("sentence"), 1):
            text = sentence.findtext("text")
            terms = sentence.findall("aspectTerms/aspectTerm")
            if not terms:
                raise SystemExit(f"mams/{split}.xml sentence {n} has no aspect term")
            for t in terms:
                rows.append([f"{split}-{n:05d}", text, t.get("term"), t.get("from"), t.get("to"), t.get("polarity")])
        _write_csv(rows, ["sentence_id", "text", "term", "from", "to", "polarity"], OUT / "mams" / f"{split}.csv.gz")
        print(f"mams/{split}.xml: {n} sentences, {len(rows)} aspect terms")
    shutil.copyfile(src / "mams" / "LICENSE", OUT / "mams" / "LICENSE")


def xed(src: Path) -> None:
    for name in ("en-annotated.tsv", "es-projections.tsv", "ro-projections.tsv", "neu_en.txt"):
        raw = (src / "xed" / name).read_bytes().decode("utf-8")
        lines = raw.split("\r\n") if "\r\n" in raw else raw.split("\n")
        rows, skipped = [], 0
        for number, line in enumerate(lines, 1):
            if name == "neu_en.txt":
                parts = line.rstrip("\t").split("\t")
                ok = len(parts) == 2 and parts[0] == "9"
                row = [number, parts[-1], "9"] if ok else None
            else:
                parts = line.split("\t")
                ok = len(parts) == 2 and bool(LABELS.match(parts[1]))
                row = [number, parts[0], parts[1].strip()] if ok else None
            if row:
                rows.append(row)
            elif line.strip():
                skipped += 1
        stem = name.rsplit(".", 1)[0]
        _write_csv(rows, ["line", "text", "labels"], OUT / "xed" / f"{stem}.csv.gz")
        print(f"xed/{name}: {len(rows)} rows kept, {skipped} malformed non-empty lines left out")


def main(argv: list[str]) -> None:
    src = Path(argv[0]) if argv else DEFAULT_SOURCE
    if not (src / "README.md").exists():
        raise SystemExit(f"no training data at {src}")
    brighter(src)
    red(src)
    mams(src)
    xed(src)


if __name__ == "__main__":
    main(sys.argv[1:])
