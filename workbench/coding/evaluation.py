"""Evaluate predictions against gold labels, or two human coders against each other.

Headless twins of ``workbench evaluate`` and ``workbench agreement``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..decisions import human_mask
from ..errors import InputError
from ..files import atomic_write_many
from ..store import Store
from ..tables import read_table
from .metrics import Report, evaluate, krippendorff_alpha

EMPTY = "none"  # an empty cell means "no code" (e.g. no pain point)


def _labels(series: pd.Series) -> list[str]:
    return [EMPTY if (v is None or (isinstance(v, float) and v != v) or str(v).strip() == "") else str(v).strip()
            for v in series]


def parse_columns(spec: str) -> list[tuple[str, str]]:
    """``"stage,emotion_family=emotion"`` → ``[("stage", "stage"), ("emotion_family", "emotion")]``."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if part:
            g, _, p = part.partition("=")
            out.append((g.strip(), (p or g).strip()))
    if not out:
        raise InputError("--columns is empty; name the columns to compare, e.g. --columns stage,pain_point.")
    return out


def evaluate_files(gold_path: Path, pred_path: Path, columns: list[tuple[str, str]],
                   key: str = "excerpt_id", max_file_mb: float | None = None) -> dict[str, Report]:
    gold, pred = (read_table(p, max_file_mb=max_file_mb).frame() for p in (gold_path, pred_path))
    for df, path, cols in ((gold, gold_path, [g for g, _ in columns]), (pred, pred_path, [p for _, p in columns])):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InputError(f"{path} has no column {', '.join(missing)}; it has: {', '.join(map(str, df.columns))}.")
    if key in gold.columns and key in pred.columns:
        pred = pred.drop_duplicates(subset=[key]).set_index(key)
        absent = [k for k in gold[key] if k not in pred.index]
        if absent:
            raise InputError(f"{pred_path} has no prediction for {len(absent)} of the {len(gold)} gold rows "
                             f"(e.g. {key} {absent[0]}). Predict every gold row.")
        pred = pred.loc[gold[key]].reset_index()
    elif len(gold) != len(pred):
        raise InputError(f"Without a shared '{key}' column the files are matched row by row, but {gold_path} has "
                         f"{len(gold)} rows and {pred_path} has {len(pred)}. Add the key column or align the rows.")
    return {g: evaluate(_labels(gold[g]), _labels(pred[p])) for g, p in columns}


def codes_by_coder(codings: pd.DataFrame) -> pd.DataFrame:
    """Each coder's code for each excerpt, excerpts × coders: the coder's latest coding that is not
    rejected (``codings`` as :meth:`Store.codings` returns them, one dimension)."""
    c = codings[codings["status"] != "rejected"].sort_values("coding_id")
    c = c.drop_duplicates(["excerpt_id", "coder"], keep="last")
    return c.pivot(index="excerpt_id", columns="coder", values="code_id")


def agreement(store: Store, coders: tuple[str, str] | None = None,
              dimensions: list[str] | None = None) -> dict[str, Report]:
    """Two human coders on the excerpts both coded, per dimension; alpha uses every human coder."""
    c = store.codings()
    c = c[human_mask(c["coder"]) & (c["status"] != "rejected")]
    if dimensions:
        c = c[c["dimension"].isin(dimensions)]
    if c.empty:
        raise InputError("The study has no human codings to compare. Code excerpts in the review queue first.")
    out: dict[str, Report] = {}
    for dim, d in sorted(c.groupby("dimension"), key=lambda kv: kv[0]):
        wide = codes_by_coder(d)
        who = coders or tuple(wide.count().sort_values(ascending=False, kind="stable").index[:2])
        if len(who) < 2:
            continue
        if who[0] not in wide or who[1] not in wide:
            raise InputError(f"No {dim} codings by {' and '.join(w for w in who if w not in wide)}.")
        both = wide[[who[0], who[1]]].dropna()
        if both.empty:
            continue
        report = evaluate(list(both[who[0]]), list(both[who[1]]))
        report.alpha = krippendorff_alpha(wide.apply(lambda r: [v for v in r if isinstance(v, str)], axis=1).tolist())
        out[dim] = report
    if not out:
        raise InputError("No excerpt was coded by two human coders in the same dimension; nothing to compare.")
    return out


def write_reports(reports: dict[str, Report], out: Path) -> None:
    summary = {dim: r.summary() for dim, r in reports.items()}
    files = {"metrics.json": json.dumps(summary, indent=2, sort_keys=True) + "\n"}
    for dim, r in reports.items():
        files[f"{dim}_per_class.csv"] = r.per_class.to_csv(index=False, lineterminator="\n")
        files[f"{dim}_confusion.csv"] = r.confusion.to_csv(lineterminator="\n")
    atomic_write_many(out, files)


def render(reports: dict[str, Report]) -> str:
    table = pd.DataFrame([{"dimension": dim, **r.summary()} for dim, r in reports.items()])
    parts = [table.to_string(index=False)]
    for dim, r in reports.items():
        parts.append(f"\n{dim}: per class\n" + r.per_class.round(3).to_string(index=False))
        parts.append(f"\n{dim}: confusion (rows gold, columns predicted)\n" + r.confusion.to_string())
    return "\n".join(parts) + "\n"
