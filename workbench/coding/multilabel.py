"""Multi-label emotion head: one calibrated sigmoid per emotion over the sentence vectors.

The shipped *family* head (:mod:`.embed`) is a softmax over Ekman's six families plus neutral, so
it gives one family per excerpt. Much of what people write carries two emotions at once (BRIGHTER:
anger + disgust, fear + sadness, joy + surprise), and the BRIGHTER benchmark scores each emotion
separately. :class:`MultiLabelHead` is one-vs-rest logistic regression: each emotion gets its own
linear score, a per-class Platt calibration (``sigmoid(a * z + b)``, fitted on dev) and a
per-class threshold on that probability (chosen on dev to maximise the class's F1). "Neutral" is
no class of its own: it is the excerpt for which no emotion passes its threshold.

Training targets are multi-hot rows over the classes, with ``-1`` for "not known": a row then
takes no part in that class's fit or threshold (English BRIGHTER has no disgust column; RED has no
disgust or surprise class). :func:`multi_hot` turns the shipped training table
(:func:`workbench.coding.training_data.load`) into such rows; its rule is stated there.

Recommended training (``benchmarks/emotion_languages.py``, chosen on dev): the ``train`` rows the
set-up already embeds for the family head, weights GoEmotions 0.5, XED English 0.5, XED projected
(es/ro) 0.25, BRIGHTER/RED/service seeds 1; ``C=1``, balanced classes; calibration and thresholds
on the set-up's dev sample, each row weighted back to its dev share and each (source, language)
group to a fixed total. About 5 s on 2 cores once the vectors are cached.

Scores use :func:`workbench.coding.embed.rowwise_matmul`, so an excerpt's probabilities do not
depend on the batch it was scored in.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .embed import rowwise_matmul

EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
#: Emotions each source annotates; the others are ``-1`` (unknown) in :func:`multi_hot`.
KNOWN = {("brighter", "en"): ("anger", "fear", "joy", "sadness", "surprise"),
         ("red", "ro"): ("anger", "fear", "joy", "sadness")}
_GOEMOTIONS_MAP = Path(__file__).resolve().parent.parent / "data" / "goemotions" / "ekman_mapping.json"
#: XED's Plutchik labels that are one of the six; trust and anticipation map to nothing (see multi_hot).
XED_SIX = {e: e for e in EMOTIONS}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))      # overflow-free


@dataclass
class MultiLabelHead:
    """Independent calibrated sigmoids, one per class, and a threshold per class."""

    classes: list[str]
    coef: np.ndarray            # (k, d)
    intercept: np.ndarray       # (k,)
    thresholds: np.ndarray      # (k,) on the calibrated probability
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))    # (k,) Platt a
    shift: np.ndarray = field(default_factory=lambda: np.zeros(0))   # (k,) Platt b
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = len(self.classes)
        if not len(self.scale):
            self.scale = np.ones(k)
        if not len(self.shift):
            self.shift = np.zeros(k)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated one-vs-rest scores, ``(n, k)``."""
        return rowwise_matmul(np.asarray(x, np.float32), self.coef.T) + self.intercept

    def proba(self, x: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        """Calibrated, independent probabilities ``(n, k)`` (rows need not sum to 1). ``extra``:
        outside evidence (e.g. cues) added to the calibrated log-odds."""
        z = self.logits(x) * self.scale + self.shift
        if extra is not None:
            z = z + extra
        return _sigmoid(z)

    def predict(self, x: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        """Multi-hot ``(n, k)`` booleans: each class whose probability reaches its threshold."""
        return self.proba(x, extra) >= self.thresholds

    def labels(self, x: np.ndarray, extra: np.ndarray | None = None) -> list[list[str]]:
        """Per row, the classes above their thresholds, most probable first (``[]``: neutral)."""
        p = self.proba(x, extra)
        on = p >= self.thresholds
        out = []
        for i in range(len(p)):
            idx = [j for j in np.argsort(-p[i], kind="stable") if on[i, j]]
            out.append([self.classes[j] for j in idx])
        return out

    def top(self, x: np.ndarray, among: Sequence[str] | None = None, none: str = "neutral") -> list[str]:
        """One label per row: of the classes above threshold (limited to ``among``), the one whose
        probability is furthest above its threshold (as odds ratio); ``none`` when there is none."""
        keep = [self.classes.index(c) for c in (among or self.classes)]
        p = np.clip(self.proba(x)[:, keep], 1e-9, 1 - 1e-9)
        t = np.clip(self.thresholds[keep], 1e-9, 1 - 1e-9)
        margin = np.log(p / (1 - p)) - np.log(t / (1 - t))
        best = margin.argmax(axis=1)
        return [self.classes[keep[b]] if margin[i, b] >= 0 else none for i, b in enumerate(best)]


def _platt(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Scale and shift of a 1-D logistic fit of labels ``y`` on scores ``z`` (weighted; near-unregularised)."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        return 1.0, 0.0
    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(z.reshape(-1, 1), y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def best_threshold(p: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """The threshold on ``p`` maximising the (weighted) F1 of ``p >= t`` against ``y``, and that F1.
    Ties go to the middle of the best run of cut points (a steadier choice than its edge)."""
    w = np.ones(len(p)) if w is None else np.asarray(w, float)
    order = np.argsort(-p, kind="stable")
    ps, ys, ws = p[order], y[order].astype(float), w[order]
    pos = (ys * ws).sum()
    if pos <= 0:
        return 1.0, 0.0
    tp = np.cumsum(ys * ws)
    fp = np.cumsum((1 - ys) * ws)
    f1 = 2 * tp / (tp + fp + pos)          # predict the top i+1 rows
    # only cut between distinct probabilities
    last = np.r_[ps[1:] != ps[:-1], True]
    f1 = np.where(last, f1, -1)
    best = f1.max()
    runs = np.flatnonzero(f1 >= best - 1e-12)
    i = runs[len(runs) // 2]
    lo = ps[i + 1] if i + 1 < len(ps) else 0.0
    return float((ps[i] + lo) / 2), float(best)


def fit_multilabel_head(x: np.ndarray, Y: np.ndarray, classes: Sequence[str],
                        dev: tuple[np.ndarray, np.ndarray] | None = None, weights: np.ndarray | None = None,
                        C: float = 0.5, seed: int = 13, dev_weights: np.ndarray | None = None,
                        class_weight: str | None = "balanced", calibrate: bool = True,
                        standardize: bool = False) -> MultiLabelHead:
    """One-vs-rest logistic regression on multi-hot ``Y`` ``(n, k)`` (``-1`` = unknown for that class).

    ``dev`` = ``(x_dev, Y_dev)``: per class, a Platt calibration and then the F1-maximising threshold
    on the calibrated probability (both weighted by ``dev_weights``). Without ``dev`` the threshold is
    0.5 on the raw sigmoid. ``weights``: per training row (e.g. lower for projected labels).
    ``standardize``: fit on per-dimension standardised vectors (folded back into ``coef`` and
    ``intercept``, so the head still scores raw vectors)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, np.float32)
    Y = np.asarray(Y)
    k = len(classes)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    mu, sd = np.zeros(x.shape[1], np.float32), np.ones(x.shape[1], np.float32)
    if standardize:
        mu = (x * (w / w.sum())[:, None]).sum(axis=0)
        sd = np.sqrt(((x - mu) ** 2 * (w / w.sum())[:, None]).sum(axis=0)) + 1e-6
    xs = (x - mu) / sd if standardize else x
    coef = np.zeros((k, x.shape[1]), np.float32)
    intercept = np.zeros(k, np.float32)
    for j in range(k):
        m = (Y[:, j] >= 0) & (w > 0)
        yj = Y[m, j].astype(int)
        if len(set(yj.tolist())) < 2:
            intercept[j] = -20.0
            continue
        wj = w[m]
        if class_weight == "balanced":   # balanced on the weighted counts
            pos = wj[yj == 1].sum()
            neg = wj[yj == 0].sum()
            wj = wj * np.where(yj == 1, (pos + neg) / (2 * pos), (pos + neg) / (2 * neg))
        clf = LogisticRegression(C=C, max_iter=3000, random_state=seed)
        clf.fit(xs[m], yj, sample_weight=wj / wj.mean())
        coef[j] = clf.coef_[0] / sd
        intercept[j] = clf.intercept_[0] - float((clf.coef_[0] * mu / sd).sum())
    head = MultiLabelHead(list(classes), coef, intercept, np.full(k, 0.5),
                          settings={"C": C, "seed": seed, "class_weight": class_weight,
                                    "standardize": standardize})
    if dev is not None and len(dev[0]):
        calibrate_multilabel(head, dev[0], dev[1], dev_weights, platt=calibrate)
    return head


def calibrate_multilabel(head: MultiLabelHead, x_dev: np.ndarray, Y_dev: np.ndarray,
                         dev_weights: np.ndarray | None = None, platt: bool = True) -> MultiLabelHead:
    """Set ``head``'s per-class Platt scale/shift and F1-maximising thresholds from dev rows (in place;
    ``-1`` in ``Y_dev`` = unknown, left out for that class). Returns ``head``."""
    xd, Yd = np.asarray(x_dev, np.float32), np.asarray(Y_dev)
    wd = np.ones(len(xd)) if dev_weights is None else np.asarray(dev_weights, float)
    k = len(head.classes)
    head.scale, head.shift, head.thresholds = np.ones(k), np.zeros(k), np.full(k, 0.5)
    z = head.logits(xd)
    for j in range(k):
        m = (Yd[:, j] >= 0) & (wd > 0)
        if platt and m.any():
            head.scale[j], head.shift[j] = _platt(z[m, j], Yd[m, j].astype(int), wd[m])
    p = head.proba(xd)
    for j in range(k):
        m = (Yd[:, j] >= 0) & (wd > 0)
        if m.any() and Yd[m, j].max() > 0:
            head.thresholds[j] = best_threshold(p[m, j], Yd[m, j], wd[m])[0]
    return head


# ------------------------------------------------------------------ training rows from the shipped table
def multi_hot(df, trust_as_joy: bool = False, red_unknown: bool = True) -> np.ndarray:
    """Multi-hot six-emotion rows (``EMOTIONS`` order; ``-1`` unknown) for rows of ``training_data.load()``.

    Rule:
    * BRIGHTER: its own 0/1 columns (the ``labels`` list); English has no disgust column → ``-1``.
    * GoEmotions: every label through the Ekman mapping (so "annoyance, disgust" → anger + disgust);
      ``neutral`` alone → all zeros.
    * XED: anger, disgust, fear, joy, sadness, surprise → themselves; trust → joy only if
      ``trust_as_joy``; anticipation (and trust otherwise) → nothing. ``neu_en`` lines → all zeros.
      A line whose labels all map to nothing has no known emotion → all ``-1`` (not a neutral row).
    * RED (single-label): Furie/Frica/Bucurie/Tristete → a one-hot anger/fear/joy/sadness, Neutru →
      all zeros over those four; disgust and surprise, which RED cannot say, are ``-1`` when
      ``red_unknown`` (else 0).
    * MAMS (no emotion labels): all ``-1``.
    """
    from .training_data import RED_FAMILY

    ekman = json.loads(_GOEMOTIONS_MAP.read_text())
    go = {e: f for f, es in ekman.items() for e in es}
    xed = dict(XED_SIX) | ({"trust": "joy"} if trust_as_joy else {})
    idx = {e: i for i, e in enumerate(EMOTIONS)}
    out = np.zeros((len(df), len(EMOTIONS)), np.int8)
    for r, (src, lang, labels) in enumerate(zip(df["source"], df["lang"], df["labels"])):
        labs = [s for s in str(labels).split(",") if s]
        if src == "mams":
            out[r] = -1
            continue
        if src == "goemotions":
            fams = {go[l] for l in labs if l in go}
        elif src == "brighter":
            fams = set(labs)
        elif src == "xed":
            if labs == ["neutral"]:
                fams = set()
            else:
                fams = {xed[l] for l in labs if l in xed}
                if not fams:
                    out[r] = -1
                    continue
        elif src == "red":
            fams = {RED_FAMILY[l] for l in labs} - {"neutral"}
        else:
            fams = set()
        for f in fams:
            out[r, idx[f]] = 1
        known = KNOWN.get((src, lang))
        if src == "red" and not red_unknown:
            known = None
        if known is not None:
            for e in EMOTIONS:
                if e not in known:
                    out[r, idx[e]] = -1
    return out


__all__ = ["EMOTIONS", "MultiLabelHead", "best_threshold", "calibrate_multilabel", "fit_multilabel_head", "multi_hot"]
