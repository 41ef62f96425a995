"""Labelled training data shipped with the package, as one uniform table.

``load()`` returns every shipped item of GoEmotions, BRIGHTER, RED, MAMS and XED (English, Spanish,
Romanian) with these columns:

- ``text``: the upstream text, unchanged (social-media handles and URLs are kept; the workbench
  masks them before scoring, as it does for a study's own text).
- ``lang``: ``en``, ``es`` or ``ro``.
- ``source``: ``goemotions``, ``brighter``, ``red``, ``mams`` or ``xed``.
- ``item_id``: stable id. The upstream id where there is one (GoEmotions comment id, BRIGHTER
  ``id``, RED ``Unnamed: 0``); otherwise the position upstream: MAMS ``train-00001`` (file and
  1-based sentence number), XED ``en-annotated:17`` (file stem and 1-based line number).
- ``labels``: the item's upstream labels as English names, comma-separated, in upstream order
  (MAMS: the aspects' polarities; BRIGHTER: ``""`` for a row with no emotion).
- ``family``: one of anger, disgust, fear, joy, sadness, surprise, neutral, or ``""`` when the
  item has no family label (MAMS; XED items whose only label is anticipation).
- ``sentiment``: negative, neutral, positive, or ``""`` when not derivable.
- ``annotated_in_language``: False only for XED's Spanish and Romanian lines, whose labels were
  projected from English subtitles through alignment (expect noise).
- ``split``: ``train`` / ``dev`` / ``test``, fixed (see below).

Label mapping rules
-------------------
1. Label → family. BRIGHTER's six emotions map to themselves. RED: Furie → anger, Frica → fear,
   Bucurie → joy, Tristete → sadness, Neutru → neutral. XED (Plutchik numbers 1–8): anger, disgust,
   fear, joy, sadness, surprise map to themselves, trust → joy, anticipation → no family. GoEmotions:
   the paper's Ekman grouping (``workbench/data/goemotions/ekman_mapping.json``), neutral → neutral.
2. One family per item: the most frequent family among its labels; ties are broken by the fixed
   priority anger > disgust > fear > sadness > joy > surprise > neutral (the negative families
   first because a coder for customer journeys must not lose pain; surprise last among emotions
   because it carries no valence and mostly co-occurs with another emotion; neutral only when
   nothing else is there). So BRIGHTER joy + surprise → joy, fear + surprise → fear, anger + joy →
   anger. An item with no label at all (BRIGHTER "no emotion") → neutral; every line of XED's
   ``neu_en.txt`` → neutral. An XED item whose only label is anticipation keeps family ``""``: it
   stays in the table (with its sentiment ``""``) but is not a family-training item — filter on
   ``family != ""``.
3. Sentiment from the families of *all* the item's labels: joy is positive; anger, disgust, fear,
   sadness are negative; surprise and anticipation are ambiguous and decide nothing. Positive and
   negative labels together → ``""`` (mixed); only positive → positive; only negative → negative;
   family neutral → neutral; only ambiguous labels (e.g. surprise alone) → ``""``.
4. MAMS (family ``""``): a sentence whose aspects all have the same polarity gets that sentiment;
   aspects that disagree → ``""`` (mixed). The aspects themselves are in :func:`mams_aspects`.
5. Within each source and language, exact duplicate texts are dropped (the first in upstream
   file order is kept, train files before validation files; XED's annotated English before
   ``neu_en.txt``), and empty or whitespace-only texts are dropped.

Splits
------
``sha1(f"{source}:{item_id}") % 100``: < 70 ``train``, < 85 ``dev``, else ``test``. Exceptions:
GoEmotions keeps the split of :func:`workbench.coding.emotion_model.goemotions` (sha1 of the
comment id alone), so the test items held out from ``emotion@1`` stay held out here too; the
upstream validation files — BRIGHTER ``dev_*.csv``, RED ``val.csv``, MAMS ``val.xml`` — all go to
``dev``: upstream published them for choosing settings, so they stay in that role, and ``test``
is only drawn, untouched, from the upstream training files (the published upstream test splits are
not shipped and are held out to evaluate the project). ``test`` must never be used to train or to
choose settings.
The same text can occur in two sources or two languages (e.g. a RED tweet also in BRIGHTER, a
short subtitle line such as "Good luck." in GoEmotions and XED, or one projected line in both
Spanish and Romanian): every copy then gets the most held-out split among the copies (test > dev
> train), so no text is both trained on and tested on.

Provenance, licences and attribution: ``DATA.md`` and ``workbench/data/training/README.md``.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from . import emotion_model

DATA = Path(__file__).resolve().parent.parent / "data" / "training"
SOURCES = ("goemotions", "brighter", "red", "mams", "xed")
LANGUAGES = ("en", "es", "ro")
FAMILIES = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
SENTIMENTS = ("negative", "neutral", "positive")
COLUMNS = ["text", "lang", "source", "item_id", "labels", "family", "sentiment", "annotated_in_language", "split"]
PRIORITY = ("anger", "disgust", "fear", "sadness", "joy", "surprise", "neutral")
POLARITY = {"joy": "positive", "anger": "negative", "disgust": "negative", "fear": "negative", "sadness": "negative"}
RED_FAMILY = {"Furie": "anger", "Frica": "fear", "Bucurie": "joy", "Tristete": "sadness", "Neutru": "neutral"}
XED_NAMES = {1: "anger", 2: "anticipation", 3: "disgust", 4: "fear", 5: "joy", 6: "sadness", 7: "surprise", 8: "trust"}
XED_FAMILY = {"trust": "joy", "anticipation": None} | {f: f for f in FAMILIES}
BRIGHTER_LANGS = {"eng": "en", "esp": "es", "ron": "ro"}
BRIGHTER_EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
XED_FILES = {"en-annotated": "en", "neu_en": "en", "es-projections": "es", "ro-projections": "ro"}


def family_of(families: list[str | None]) -> str:
    """One family for an item from its labels' families (``None`` = a label with no family)."""
    present = [f for f in families if f]
    if not families:
        return "neutral"
    if not present:
        return ""
    counts = Counter(present)
    return min(counts, key=lambda f: (-counts[f], PRIORITY.index(f)))


def sentiment_of(families: list[str | None], family: str) -> str:
    """Sentiment from the families of all labels (rule 3 of the module docstring)."""
    polarities = {POLARITY.get(f) for f in families} - {None}
    if len(polarities) == 1:
        return polarities.pop()
    if not polarities and family == "neutral":
        return "neutral"
    return ""


def split_of(source: str, item_id: str) -> str:
    bucket = int(hashlib.sha1(f"{source}:{item_id}".encode()).hexdigest(), 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


def _csv(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return pd.read_csv(io.StringIO(fh.read()), dtype=str, keep_default_na=False)


def _frame(rows: list[dict] | pd.DataFrame, source: str) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["source"] = source
    if "split" not in df:
        df["split"] = None
    hashed = df["split"].isna()
    df.loc[hashed, "split"] = [split_of(source, i) for i in df.loc[hashed, "item_id"]]
    df = df[df["text"].str.strip() != ""]
    df = df[~df.duplicated(["lang", "text"], keep="first")]
    return df[COLUMNS].reset_index(drop=True)


@functools.lru_cache(maxsize=None)
def _mapped(families: tuple) -> tuple[str, str]:
    family = family_of(list(families))
    return family, sentiment_of(list(families), family)


def _item(text, lang, item_id, labels, families, annotated=True, split=None) -> dict:
    family, sentiment = _mapped(tuple(families))
    return {"text": text, "lang": lang, "item_id": item_id, "labels": ",".join(labels), "family": family,
            "sentiment": sentiment, "annotated_in_language": annotated, "split": split}


def _goemotions() -> pd.DataFrame:
    df = emotion_model.goemotions()
    names = (emotion_model.DATA / "emotions.txt").read_text().split()
    ekman = json.loads((emotion_model.DATA / "ekman_mapping.json").read_text())
    fam = {e: f for f, es in ekman.items() for e in es} | {"neutral": "neutral"}
    rows = []
    for text, ids, item_id, split in zip(df["text"], df["labels"], df["id"], df["split"]):
        labels = [names[int(x)] for x in ids.split(",")]
        rows.append(_item(text, "en", item_id, labels, [fam[x] for x in labels], split=split))
    return _frame(rows, "goemotions")


def _brighter() -> pd.DataFrame:
    rows = []
    for part in ("train", "dev"):
        for code, lang in BRIGHTER_LANGS.items():
            df = _csv(DATA / "brighter" / f"{part}_{code}.csv.gz")
            emotions = [e for e in BRIGHTER_EMOTIONS if e in df.columns]
            for rec in df.to_dict("records"):
                labels = [e for e in emotions if rec[e] == "1"]
                rows.append(_item(rec["text"], lang, rec["id"], labels, labels,
                                  split="dev" if part == "dev" else None))
    return _frame(rows, "brighter")


def _red() -> pd.DataFrame:
    rows = []
    for part in ("train", "val"):
        for rec in _csv(DATA / "red" / f"{part}.csv.gz").to_dict("records"):
            rows.append(_item(rec["text"], "ro", rec["id"], [rec["emotion"]], [RED_FAMILY[rec["emotion"]]],
                              split="dev" if part == "val" else None))
    return _frame(rows, "red")


@functools.lru_cache(maxsize=1)
def _mams_raw() -> pd.DataFrame:
    parts = []
    for part in ("train", "val"):
        df = _csv(DATA / "mams" / f"{part}.csv.gz")
        df["split"] = "dev" if part == "val" else None
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def _mams() -> pd.DataFrame:
    g = _mams_raw().groupby("sentence_id", sort=False)
    df = g.agg(text=("text", "first"), labels=("polarity", ",".join), first=("polarity", "first"),
               kinds=("polarity", "nunique"), split=("split", "first")).reset_index()
    df = df.rename(columns={"sentence_id": "item_id"})
    df["sentiment"] = df["first"].where(df["kinds"] == 1, "")
    df["lang"], df["family"], df["annotated_in_language"] = "en", "", True
    return _frame(df, "mams")


def _xed() -> pd.DataFrame:
    rows = []
    for stem, lang in XED_FILES.items():
        for rec in _csv(DATA / "xed" / f"{stem}.csv.gz").to_dict("records"):
            item_id = f"{stem}:{rec['line']}"
            if stem == "neu_en":
                rows.append(_item(rec["text"], lang, item_id, ["neutral"], ["neutral"]))
                continue
            labels = [XED_NAMES[int(x)] for x in rec["labels"].split(",")]
            rows.append(_item(rec["text"], lang, item_id, labels, [XED_FAMILY[x] for x in labels],
                              annotated=lang == "en"))
    return _frame(rows, "xed")


_LOADERS = {"goemotions": _goemotions, "brighter": _brighter, "red": _red, "mams": _mams, "xed": _xed}


@functools.lru_cache(maxsize=None)
def _source(name: str) -> pd.DataFrame:
    return _LOADERS[name]()


def _choose(given, allowed: tuple[str, ...], what: str) -> list[str]:
    if given is None:
        return list(allowed)
    chosen = [given] if isinstance(given, str) else list(given)
    unknown = [x for x in chosen if x not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}: choose from {', '.join(allowed)}")
    return chosen


HELD_OUT = {"train": 0, "dev": 1, "test": 2}


@functools.lru_cache(maxsize=1)
def _all() -> pd.DataFrame:
    df = pd.concat([_source(s) for s in SOURCES], ignore_index=True)
    rank = df["split"].map(HELD_OUT)
    most = rank.groupby(df["text"]).transform("max")
    df["split"] = most.map({v: k for k, v in HELD_OUT.items()})
    return df


def load(sources=None, languages=None) -> pd.DataFrame:
    """The shipped training items as one table (columns and rules in the module docstring).

    ``sources`` / ``languages``: a name or a list of names to keep (default: all). Returns a new
    frame each call (the files are parsed once per process, all sources together, so an item's
    split does not depend on which sources were asked for).
    """
    names = _choose(sources, SOURCES, "source")
    langs = _choose(languages, LANGUAGES, "language")
    df = _all()
    return df[df["source"].isin(names) & df["lang"].isin(langs)].reset_index(drop=True).copy()


def mams_aspects() -> pd.DataFrame:
    """MAMS aspect terms: ``item_id``, ``sentence``, ``term``, ``from``, ``to`` (character offsets
    into ``sentence``, ``sentence[from:to] == term``), ``polarity`` and the sentence's ``split``
    (the same as in :func:`load`), for the sentences :func:`load` keeps."""
    kept = load(sources="mams")[["item_id", "split"]]
    df = _mams_raw().drop(columns="split").rename(columns={"sentence_id": "item_id", "text": "sentence"})
    df = df.merge(kept, on="item_id", how="inner")
    df["from"] = df["from"].astype(int)
    df["to"] = df["to"].astype(int)
    return df[["item_id", "sentence", "term", "from", "to", "polarity", "split"]].reset_index(drop=True)


def fingerprint() -> str:
    """A hash of every shipped training file and of this module's rules: what a trained head was fitted on."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(DATA.rglob("*")) + sorted(emotion_model.DATA.glob("*")):
        if path.is_file():
            h.update(path.relative_to(path.parent.parent).as_posix().encode() + path.read_bytes())
    return h.hexdigest()[:16]
