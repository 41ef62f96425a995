"""Agreement and accuracy metrics for nominal codes, written out so a researcher can check them.

Per-class precision, recall and F1, macro-F1, accuracy, Cohen's kappa, Krippendorff's alpha
(nominal, any number of coders, missing values allowed) and the confusion matrix. Checked in
tests against published worked examples (Cohen 1960 style 2×2 table; Krippendorff 2011's
reliability-data example, alpha = 0.743) and hand-computed F1.

    >>> round(cohen_kappa(["y", "y", "n", "n"], ["y", "n", "n", "n"]), 3)
    0.5
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Hashable, Sequence

import pandas as pd


@dataclass
class Report:
    """Everything one comparison of two label sequences gives."""

    n: int
    labels: list[str]
    accuracy: float
    macro_f1: float
    kappa: float
    alpha: float
    per_class: pd.DataFrame = field(repr=False)     # label, precision, recall, f1, support
    confusion: pd.DataFrame = field(repr=False)     # rows: gold, columns: predicted

    def summary(self) -> dict[str, float | int]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "cohen_kappa": round(self.kappa, 4), "krippendorff_alpha": round(self.alpha, 4)}


def _pairs(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> list[tuple[str, str]]:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} labels and pred has {len(pred)}; they must be aligned.")
    return [(str(g), str(p)) for g, p in zip(gold, pred)]


def confusion_matrix(gold: Sequence[Hashable], pred: Sequence[Hashable], labels: list[str] | None = None) -> pd.DataFrame:
    pairs = _pairs(gold, pred)
    labels = labels or sorted({x for pair in pairs for x in pair})
    counts = Counter(pairs)
    data = [[counts[(g, p)] for p in labels] for g in labels]
    return pd.DataFrame(data, index=pd.Index(labels, name="gold"), columns=pd.Index(labels, name="predicted"))


def per_class(gold: Sequence[Hashable], pred: Sequence[Hashable], labels: list[str] | None = None) -> pd.DataFrame:
    """Precision, recall, F1 and support per label (0 where undefined, as scikit-learn's zero_division=0)."""
    cm = confusion_matrix(gold, pred, labels)
    rows = []
    for label in cm.index:
        tp = int(cm.loc[label, label])
        fp = int(cm[label].sum()) - tp
        fn = int(cm.loc[label].sum()) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"label": label, "precision": precision, "recall": recall, "f1": f1, "support": tp + fn})
    return pd.DataFrame(rows)


def macro_f1(gold: Sequence[Hashable], pred: Sequence[Hashable], labels: list[str] | None = None) -> float:
    """Unweighted mean F1 over ``labels`` (default: every label seen in gold or pred)."""
    table = per_class(gold, pred, labels)
    return float(table["f1"].mean()) if len(table) else 0.0


def accuracy(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    pairs = _pairs(gold, pred)
    return sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa for two coders: (p_o - p_e) / (1 - p_e)."""
    pairs = _pairs(a, b)
    n = len(pairs)
    if not n:
        return 0.0
    p_o = sum(x == y for x, y in pairs) / n
    ca, cb = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    p_e = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return 1.0 if p_e == 1 else (p_o - p_e) / (1 - p_e)


def weighted_kappa(a: Sequence[Hashable], b: Sequence[Hashable], levels: Sequence[Hashable], weights: str = "linear") -> float:
    """Cohen's weighted kappa for ordinal codes (e.g. severity 1–3): disagreements cost by distance
    (``linear``: |i − j|, ``quadratic``: (i − j)²). Pairs with a value outside ``levels`` are skipped."""
    idx = {v: i for i, v in enumerate(levels)}
    pairs = [(idx[x], idx[y]) for x, y in zip(a, b) if x in idx and y in idx]
    k, n = len(levels), len(pairs)
    if not n or k < 2:
        return 0.0
    obs = [[0.0] * k for _ in range(k)]
    for i, j in pairs:
        obs[i][j] += 1
    row = [sum(r) for r in obs]
    col = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    w = [[(abs(i - j) if weights == "linear" else (i - j) ** 2) / ((k - 1) if weights == "linear" else (k - 1) ** 2)
          for j in range(k)] for i in range(k)]
    d_obs = sum(w[i][j] * obs[i][j] for i in range(k) for j in range(k)) / n
    d_exp = sum(w[i][j] * row[i] * col[j] for i in range(k) for j in range(k)) / (n * n)
    return 1.0 if d_exp == 0 else 1 - d_obs / d_exp


def krippendorff_alpha(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha, nominal metric.

    ``units[u]`` holds the values the coders gave unit ``u`` (``None`` = missing). Units with fewer
    than two values are not pairable and are ignored, as in Krippendorff (2011).
    """
    coincidence: Counter[tuple[str, str]] = Counter()
    for values in units:
        vals = [str(v) for v in values if v is not None and not (isinstance(v, float) and v != v)]
        m = len(vals)
        if m < 2:
            continue
        counts = Counter(vals)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - 1) if c == k else nc * nk
                coincidence[(c, k)] += pairs / (m - 1)
    n = sum(coincidence.values())
    if n <= 1:
        return 0.0
    marg: Counter[str] = Counter()
    for (c, _), v in coincidence.items():
        marg[c] += v
    d_o = sum(v for (c, k), v in coincidence.items() if c != k)
    d_e = sum(marg[c] * marg[k] for c in marg for k in marg if c != k) / (n - 1)
    return 1.0 if d_e == 0 else 1.0 - d_o / d_e


def evaluate(gold: Sequence[Hashable], pred: Sequence[Hashable], labels: list[str] | None = None) -> Report:
    """All metrics for one dimension; ``labels`` fixes the label set for macro-F1 and the matrix."""
    pairs = _pairs(gold, pred)
    labels = labels or sorted({x for pair in pairs for x in pair})
    g = [x for x, _ in pairs]
    p = [y for _, y in pairs]
    return Report(
        n=len(pairs), labels=labels, accuracy=accuracy(g, p), macro_f1=macro_f1(g, p, labels),
        kappa=cohen_kappa(g, p), alpha=krippendorff_alpha(list(zip(g, p))),
        per_class=per_class(g, p, labels), confusion=confusion_matrix(g, p, labels))
