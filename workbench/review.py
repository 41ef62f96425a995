"""Reviewing machine suggestions: the queue, human decisions, and two coders side by side.

Headless core of the notebook's review and agreement panels (and usable from scripts):

    >>> q = review_queue(store, dimension="pain_point", order="confidence")      # doctest: +SKIP
    >>> decide(store, q.iloc[0], "accept", coder="human:ana")                      # doctest: +SKIP
    >>> decide(store, q.iloc[1], "recode", code_id="waiting", memo="3 h wait")     # doctest: +SKIP

A decision is written at once, in one transaction: a kernel restart loses nothing. A coder's new
decision on an excerpt, dimension and code replaces that coder's earlier one (so changing your
mind never leaves two answers), and a machine re-run never overwrites it (see ``Store.add_codings``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .coding.evaluation import codes_by_coder
from .coding.metrics import Report, evaluate
from .decisions import effective_codings, human_coder, undecided
from .errors import InputError
from .model import VOICE_ROLES, Coding
from .store import Store

ACTIONS = ("accept", "reject", "recode")
ORDERS = ("confidence", "code", "source")


def review_queue(store: Store, dimension: str | None = None, order: str = "confidence", source: str | None = None,
                 segment: str | None = None, coder: str | None = None, code_id: str | None = None,
                 roles: tuple[str, ...] = VOICE_ROLES) -> pd.DataFrame:
    """The machine suggestions no human has decided yet, one row per excerpt and dimension.

    Each row has the suggestion (code, coder, confidence, rationale), the alternatives other
    machine coders suggested for the same excerpt and dimension, and the excerpt in context: its
    text, offsets, speaker, source and the previous and next turns. ``order``: ``confidence``
    (least sure first), ``code`` (grouped by suggested code) or ``source`` (reading order). Add the
    neighbouring turns of the rows you show with :func:`in_context` (a page at a time).
    """
    if order not in ORDERS:
        raise InputError(f"Unknown order {order!r}; choose one of {', '.join(ORDERS)}.")
    codings = store.codings()
    if dimension:
        codings = codings[codings["dimension"] == dimension]
    machine = undecided(codings)
    top = effective_codings(machine)
    # what the other machine coders said about the same excerpt and dimension
    several = machine[machine.duplicated(["excerpt_id", "dimension"], keep=False)]
    several = several.assign(label=[f"{c} ({k}, {p:.2f})" for c, k, p in
                                    zip(several["code_id"], several["coder"], several["confidence"])])
    alts = (several.sort_values(["confidence", "coder"], ascending=[False, True])
            .groupby(["excerpt_id", "dimension"], sort=False)["label"].agg("; ".join)
            .rename("suggestions").reset_index())
    ex = store.excerpts(roles=roles)
    if source:
        ex = ex[(ex["source_id"] == source) | (ex["source_name"] == source)]
    if segment:
        ex = ex[ex["segment"] == segment]
    q = top.drop(columns=["start", "end"]).merge(ex, on="excerpt_id", how="inner")   # offsets of the excerpt
    if coder:
        q = q[q["coder"] == coder]
    if code_id:
        q = q[q["code_id"] == code_id]
    q = q.merge(alts, on=["excerpt_id", "dimension"], how="left")
    q["alternatives"] = [
        "; ".join(s for s in all_.split("; ") if not s.startswith(f"{code} ({who},")) if isinstance(all_, str) else ""
        for all_, code, who in zip(q["suggestions"].astype(object), q["code_id"], q["coder"])]
    q = q.drop(columns=["suggestions"])
    if order == "confidence":
        q = q.sort_values(["confidence", "excerpt_id", "dimension"])
    elif order == "code":
        q = q.sort_values(["dimension", "code_id", "confidence", "excerpt_id"])
    else:
        q = q.sort_values(["source_name", "excerpt_id", "dimension"])
    cols = ["coding_id", "excerpt_id", "dimension", "code_id", "coder", "confidence", "rationale", "value", "alternatives",
            "source_id", "source_name", "turn_index", "segment", "speaker", "start", "end", "text"]
    return q[cols].reset_index(drop=True)


def in_context(store: Store, q: pd.DataFrame) -> pd.DataFrame:
    """``q`` with ``before`` and ``after``: the previous and next turn ("speaker: text") of each excerpt's turn."""
    if q.empty:
        return q.assign(before=pd.Series(dtype=str), after=pd.Series(dtype=str))
    turns = store.turn_texts(q["source_id"])
    said = dict(zip(zip(turns["source_id"], turns["turn_index"]),
                    (f"{sp or '?'}: {tx}" for sp, tx in zip(turns["speaker"], turns["text"]))))
    q = q.copy()
    q["before"] = [said.get((s, int(t) - 1), "") for s, t in zip(q["source_id"], q["turn_index"])]
    q["after"] = [said.get((s, int(t) + 1), "") for s, t in zip(q["source_id"], q["turn_index"])]
    return q


def queue_counts(store: Store, roles: tuple[str, ...] = VOICE_ROLES) -> pd.DataFrame:
    """Per dimension: suggestions left to review (excerpts), and human decisions (accepted / rejected)."""
    return store.queue_counts(roles)


def decide(store: Store, item: pd.Series | dict, action: str, coder: str = "researcher", code_id: str | None = None,
           memo: str = "") -> list[Coding]:
    """Record a human decision on a queue item (a row of :func:`review_queue`), in one transaction.

    ``accept`` keeps the suggested code; ``reject`` refuses it (the excerpt then counts as not coded
    in that dimension unless someone accepts another code); ``recode`` rejects the suggestion and
    accepts ``code_id``. The decision replaces this coder's earlier decisions on the same codes.
    """
    if action not in ACTIONS:
        raise InputError(f"Unknown action {action!r}; choose one of {', '.join(ACTIONS)}.")
    who = human_coder(coder)
    excerpt, dim, suggested = str(item["excerpt_id"]), str(item["dimension"]), str(item["code_id"])
    value = item.get("value")
    value = None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)
    memo = memo.strip()
    if action == "recode":
        if not code_id:
            raise InputError("Recode needs the new code: pick one from the codebook.")
        if code_id == suggested:
            action = "accept"
    if action == "accept":
        new = [Coding(excerpt, dim, suggested, who, 1.0, f"accepted {item.get('coder', 'suggestion')}", "accepted",
                      value=value, memo=memo)]
    elif action == "reject":
        new = [Coding(excerpt, dim, suggested, who, 1.0, f"rejected {item.get('coder', 'suggestion')}", "rejected", memo=memo)]
    else:
        new = [Coding(excerpt, dim, suggested, who, 1.0, f"rejected {item.get('coder', 'suggestion')}", "rejected"),
               Coding(excerpt, dim, str(code_id), who, 1.0, f"recoded from {suggested}", "accepted", memo=memo)]
    store.replace_decisions(who, excerpt, dim, sorted({c.code_id for c in new}), new)
    return new


def undo(store: Store, item: pd.Series | dict, coder: str = "researcher") -> int:
    """Remove this coder's decisions on the item's excerpt and dimension; the suggestion is back in the queue."""
    return store.replace_decisions(human_coder(coder), str(item["excerpt_id"]), str(item["dimension"]), None, [])


@dataclass
class Comparison:
    coder_a: str
    coder_b: str
    dimension: str
    report: Report
    disagreements: pd.DataFrame       # excerpt_id, code_a, code_b, text, source_name, start, end

    def summary(self) -> dict[str, float | int | str]:
        return {"dimension": self.dimension, "coder_a": self.coder_a, "coder_b": self.coder_b, **self.report.summary(),
                "disagreements": len(self.disagreements)}


def compare_coders(store: Store, coder_a: str, coder_b: str, dimension: str) -> Comparison:
    """Two coders (human or machine) on the excerpts both coded in one dimension: kappa, alpha, disagreements.

    A coder's code for an excerpt is its latest non-rejected one.
    """
    c = store.codings()
    coders = sorted(set(c["coder"]))
    for who in (coder_a, coder_b):
        if who not in coders:
            raise InputError(f"No codings by {who!r} in this study; coders here: {', '.join(coders) or '(none)'}.")
    wide = codes_by_coder(c[(c["dimension"] == dimension) & c["coder"].isin([coder_a, coder_b])])
    if coder_a not in wide or coder_b not in wide or wide[[coder_a, coder_b]].dropna().empty:
        raise InputError(f"{coder_a} and {coder_b} have no {dimension} codings on the same excerpts; "
                         "nothing to compare. Pick two coders who coded the same excerpts.")
    both = wide[[coder_a, coder_b]].dropna().sort_index()
    report = evaluate(list(both[coder_a]), list(both[coder_b]))
    diff = both[both[coder_a] != both[coder_b]].reset_index()
    diff.columns = ["excerpt_id", "code_a", "code_b"]
    ex = store.excerpts()[["excerpt_id", "source_name", "speaker", "start", "end", "text"]]
    diff = diff.merge(ex, on="excerpt_id", how="left")
    return Comparison(coder_a, coder_b, dimension, report, diff.reset_index(drop=True))


__all__ = ["ACTIONS", "ORDERS", "Comparison", "compare_coders", "decide", "in_context", "queue_counts", "review_queue", "undo"]
