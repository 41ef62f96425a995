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

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .coding.evaluation import codes_by_coder
from .coding.metrics import Report, evaluate
from .decisions import effective_codings, human_coder, human_mask, undecided
from .codebook import resolve
from .coding.rules import stage_activities
from .errors import InputError, WorkbenchError
from .journey import study_codebooks, study_stage_model
from .model import DIMENSIONS, VOICE_ROLES, Coding
from .store import Store

ACTIONS = ("accept", "reject", "recode")
ORDERS = ("confidence", "code", "source")


def review_queue(store: Store, dimension: str | None = None, order: str = "confidence", source: str | None = None,
                 segment: str | None = None, coder: str | None = None, code_id: str | None = None,
                 roles: tuple[str, ...] = VOICE_ROLES) -> pd.DataFrame:
    """The machine suggestions no human has decided yet, one row per excerpt and dimension.

    Each row has the suggestion (code, coder, confidence, rationale), the codes the same coder
    also suggested there (``also``, ``also_codes``: the embedding coder's further emotions; see
    :func:`one_per_dimension`), the alternatives other machine coders suggested for the same
    excerpt and dimension, and the excerpt in context: its
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
    top = one_per_dimension(effective_codings(machine))
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
        "; ".join(s for s in all_.split("; ") if f" ({who}, " not in s) if isinstance(all_, str) else ""
        for all_, who in zip(q["suggestions"].astype(object), q["coder"])]
    q = q.drop(columns=["suggestions"])
    if order == "confidence":
        q = q.sort_values(["confidence", "excerpt_id", "dimension"])
    elif order == "code":
        q = q.sort_values(["dimension", "code_id", "confidence", "excerpt_id"])
    else:
        q = q.sort_values(["source_name", "excerpt_id", "dimension"])
    cols = ["coding_id", "excerpt_id", "dimension", "code_id", "coder", "confidence", "rationale", "value", "also",
            "also_codes", "alternatives", "source_id", "source_name", "turn_index", "segment", "speaker", "start", "end", "text"]
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


def one_per_dimension(top: pd.DataFrame) -> pd.DataFrame:
    """Effective suggestions (:func:`~workbench.decisions.effective_codings`) as one row per excerpt and dimension.

    A coder may suggest several codes for one excerpt and dimension (the embedding coder's emotions:
    "annoyance", and also "nervousness"). The row shows the most confident (ties: code), so its
    confidence is the one the card order uses; the others are listed in ``also_codes`` (most
    confident first) and ``also`` ("nervousness (0.61)"). ``value`` is the set's (the excerpt's
    valence, which the coder stores once). Deciding the row decides them all (:func:`decide`,
    :func:`decide_card`).
    """
    if top.empty:
        return top.assign(also=pd.Series(dtype=object), also_codes=pd.Series(dtype=object))
    t = top.assign(_neg=-top["confidence"].astype(float))
    t = t.sort_values(["excerpt_id", "dimension", "_neg", "code_id"], kind="stable")
    first = ~t.duplicated(["excerpt_id", "dimension"]).to_numpy()
    by: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for e, d, c, p in t.loc[~first, ["excerpt_id", "dimension", "code_id", "confidence"]].itertuples(index=False):
        by.setdefault((e, d), []).append((c, float(p)))
    main = t[first].drop(columns=["_neg"]).reset_index(drop=True)
    keys = list(zip(main["excerpt_id"], main["dimension"]))
    more = [by.get(k, []) for k in keys]
    if by and "value" in t.columns:           # the set's value, wherever in the set it is stored
        valued = t[t["value"].notna()].drop_duplicates(["excerpt_id", "dimension"])
        value = dict(zip(zip(valued["excerpt_id"], valued["dimension"]), valued["value"]))
        main["value"] = [value.get(k, np.nan) for k in keys]
    main["also_codes"] = pd.Series([[c for c, _ in m] for m in more], dtype=object)
    main["also"] = ["; ".join(f"{c} ({p:.2f})" for c, p in m) for m in more]
    return main


def _codes_given(code_id) -> list[str]:
    """A recode's target: one code, or several (a list, or ``"a; b"``) for a dimension that takes several."""
    if isinstance(code_id, str):
        return [c.strip() for c in code_id.split(";") if c.strip()]
    return [str(c).strip() for c in (code_id or []) if str(c).strip()]


def _decision(item: pd.Series | dict, action: str, who: str, code_id: str | list[str] | None = None, memo: str = "",
              also_reject: tuple[str, ...] = ()) -> list[Coding]:
    """The codings one decision on one suggestion writes: the rule :func:`decide` and :func:`decide_card` share.

    The suggestion shown is its code plus the codes the same coder also suggested (``also_codes``).
    ``accept`` keeps them all; ``reject`` refuses them (and ``also_reject``, the other machine
    coders' codes for the same excerpt and dimension); ``recode`` accepts ``code_id`` (one code, or
    several) and rejects the suggested codes not among them (a recode to exactly the suggested
    codes is an accept).
    """
    if action not in ACTIONS:
        raise InputError(f"Unknown action {action!r}; choose one of {', '.join(ACTIONS)}.")
    excerpt, dim, suggested = str(item["excerpt_id"]), str(item["dimension"]), str(item["code_id"])
    also = item.get("also_codes")
    shown = list(dict.fromkeys([suggested, *(also if isinstance(also, (list, tuple)) else [])]))
    value = item.get("value")
    value = None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)
    memo = (memo or "").strip()
    by = item.get("coder", "suggestion")
    if action == "recode":
        chosen = list(dict.fromkeys(_codes_given(code_id)))
        if not chosen:
            raise InputError("Recode needs the new code: pick one from the codebook.")
        if set(chosen) == set(shown):
            action = "accept"
    if action == "accept":
        return [Coding(excerpt, dim, c, who, 1.0, f"accepted {by}", "accepted", value=value if c == suggested else None,
                       memo=memo) for c in shown]      # the one value on the main code
    if action == "reject":
        return [Coding(excerpt, dim, code, who, 1.0, f"rejected {by}" if code in shown else "rejected (another coder's)",
                       "rejected", memo=memo if code == suggested else "")
                for code in dict.fromkeys([*shown, *also_reject])]
    out = [Coding(excerpt, dim, c, who, 1.0, f"rejected {by}", "rejected") for c in shown if c not in chosen]
    for c in chosen:
        out.append(Coding(excerpt, dim, c, who, 1.0, f"accepted {by}" if c in shown else f"recoded from {suggested}",
                          "accepted", value=value if c == suggested else None, memo=memo))
    return out


def decide(store: Store, item: pd.Series | dict, action: str, coder: str = "researcher", code_id: str | None = None,
           memo: str = "") -> list[Coding]:
    """Record a human decision on a queue item (a row of :func:`review_queue`), in one transaction.

    ``accept`` keeps the suggested code; ``reject`` refuses it (the excerpt then counts as not coded
    in that dimension unless someone accepts another code); ``recode`` rejects the suggestion and
    accepts ``code_id``. The decision replaces all of this coder's earlier decisions on the excerpt and
    dimension, as a review card does: recoding twice (A → B, then → C) leaves C, never B and C.
    """
    who = human_coder(coder)
    new = _decision(item, action, who, code_id, memo)
    store.replace_decisions(who, str(item["excerpt_id"]), str(item["dimension"]), None, new)
    return new


def undo(store: Store, item: pd.Series | dict, coder: str = "researcher") -> int:
    """Remove this coder's decisions on the item's excerpt and dimension; the suggestion is back in the queue."""
    return store.replace_decisions(human_coder(coder), str(item["excerpt_id"]), str(item["dimension"]), None, [])


# ---------------------------------------------------------------------------------------- cards
#: Card orders: ``uncertainty`` (least certain excerpt first; ``confidence`` is the same order under
#: its older name), ``code`` (grouped by the suggested codes) and ``source`` (reading order).
CARD_ORDERS = ("uncertainty", "confidence", "code", "source")
#: A card's per-dimension columns: ``<dimension>`` is the suggested code, then ``<dimension>_<field>``.
CARD_FIELDS = ("confidence", "coder", "rationale", "also", "also_codes", "alternatives", "value", "coding_id")
#: In :func:`decide_card` (and the panel's dropdowns), a dimension set to this has no code: the suggestion is rejected.
NO_CODE = "(none)"


def codebook_codes(store: Store, stage_model: str | None = None) -> dict[str, list[str]]:
    """The codes a reviewer may pick in each dimension: those of the codebooks the study was coded with
    (the shipped ones before it is coded), the study's stage model (``stage_model`` names another one)
    and its activities."""
    try:
        stages = study_stage_model(store, stage_model)
    except WorkbenchError:          # not coded yet: the default model
        stages = resolve("awareness_advocacy")
    books, _ = study_codebooks(store, stage_model=stages)
    if stage_model:                 # another stage model: its own activities
        books.pop("activity", None)
        acts = stage_activities(stages)
        if acts is not None:
            books["activity"] = acts
    codes = {dim: [c.code_id for c in cb.codes] for dim, cb in books.items()}
    codes["stage"] = [c.code_id for c in stages.ordered]
    return codes


def _dimension_order(dims) -> list[str]:
    known = [d for d in DIMENSIONS if d in set(dims)]
    return known + sorted(set(dims) - set(known))


def card_queue(store: Store, order: str = "uncertainty", dimensions: list[str] | tuple[str, ...] | None = None,
               source: str | None = None, segment: str | None = None, coder: str | None = None,
               roles: tuple[str, ...] = VOICE_ROLES) -> pd.DataFrame:
    """The review cards in order, without their texts: one row per excerpt with an undecided suggestion.

    Columns: ``excerpt_id, source_name, n_suggestions, min_confidence, mean_confidence, uncertainty``.
    ``uncertainty`` = 1 − the confidence of the excerpt's least confident suggestion (a card is as
    uncertain as its weakest code); order ``uncertainty`` sorts by it, most uncertain first, then
    by the lower mean confidence, then in reading order (source name, excerpt id). The suggestions
    are selected and filtered in SQL; the ordering is array code, so a large study sorts in seconds.
    :func:`card_details` turns a slice of this (a page) into full cards.
    """
    if order not in CARD_ORDERS:
        raise InputError(f"Unknown order {order!r}; choose one of {', '.join(CARD_ORDERS)}.")
    if _in_sql(order, dimensions, coder):
        return _with_uncertainty(store.card_rows(tuple(roles), order, source, segment))
    # per excerpt and dimension its most confident code, as the study's card_stats keep it
    top = one_per_dimension(effective_codings(store.open_suggestions(roles, dimensions, source, segment, coder)))
    g = top.groupby("excerpt_id", sort=True)
    cards = pd.DataFrame({"source_name": g["source_name"].first(), "n_suggestions": g.size(),
                          "min_confidence": g["confidence"].min(), "mean_confidence": g["confidence"].mean()})
    cards["uncertainty"] = 1.0 - cards["min_confidence"]
    cards = cards.reset_index()
    if order in ("uncertainty", "confidence"):
        cards = cards.sort_values(["min_confidence", "mean_confidence", "source_name", "excerpt_id"], kind="stable")
    elif order == "code":
        codes = top.pivot(index="excerpt_id", columns="dimension", values="code_id")
        dims = _dimension_order(codes.columns)
        cards = cards.merge(codes[dims].fillna("~").reset_index(), on="excerpt_id")   # "~": no suggestion sorts last
        cards = cards.sort_values([*dims, "source_name", "excerpt_id"], kind="stable").drop(columns=dims)
    else:
        cards = cards.sort_values(["source_name", "excerpt_id"], kind="stable")
    return cards.reset_index(drop=True)


CARD_COLUMNS = ["excerpt_id", "source_name", "n_suggestions", "min_confidence", "mean_confidence", "uncertainty"]


def _with_uncertainty(cards: pd.DataFrame) -> pd.DataFrame:
    """Cards read from ``card_stats`` in :func:`card_queue`'s columns (uncertainty = 1 − least confidence)."""
    return cards.assign(uncertainty=1.0 - cards["min_confidence"])[CARD_COLUMNS]


def _in_sql(order: str, dimensions, coder) -> bool:
    """The unfiltered queue in uncertainty or reading order is kept in the study (``card_stats``)."""
    return dimensions is None and not coder and order in ("uncertainty", "confidence", "source")


class CardQueue:
    """The ordered review cards without loading them all: ``len()``, :meth:`rows` for a page, and the
    whole frame's columns on demand (``queue["excerpt_id"]``). The unfiltered queue pages in SQL
    (a million-excerpt study opens in well under a second); filtered by dimension or coder, or in
    code order, it is :func:`card_queue`'s frame."""

    def __init__(self, store: Store, order: str = "uncertainty", dimensions: list[str] | tuple[str, ...] | None = None,
                 source: str | None = None, segment: str | None = None, coder: str | None = None,
                 roles: tuple[str, ...] = VOICE_ROLES) -> None:
        if order not in CARD_ORDERS:
            raise InputError(f"Unknown order {order!r}; choose one of {', '.join(CARD_ORDERS)}.")
        self.store, self.order, self.source, self.segment, self.roles = store, order, source, segment, tuple(roles)
        self.frame = None if _in_sql(order, dimensions, coder) else card_queue(store, order, dimensions, source, segment,
                                                                               coder, roles)
        self.total = store.card_total(self.roles, source, segment) if self.frame is None else len(self.frame)

    def __len__(self) -> int:
        return self.total

    def rows(self, start: int, stop: int) -> pd.DataFrame:
        if self.frame is not None:
            return self.frame.iloc[start:stop]
        return _with_uncertainty(self.store.card_rows(self.roles, self.order, self.source, self.segment, offset=start,
                                                      limit=max(0, stop - start)))

    def __getitem__(self, column: str) -> pd.Series:
        return (self.frame if self.frame is not None else self.rows(0, self.total))[column]


def card_details(store: Store, cards: pd.DataFrame, dimensions: list[str] | tuple[str, ...] | None = None,
                 coder: str | None = None, context: bool = True) -> pd.DataFrame:
    """Full cards for rows of :func:`card_queue` (e.g. one page), in the same order.

    Pass the ``dimensions`` and ``coder`` filters the queue was built with. See :func:`review_cards` for the columns.
    """
    ids = list(cards["excerpt_id"])
    codings = store.codings_of(ids)
    if dimensions is not None:
        codings = codings[codings["dimension"].isin(list(dimensions))]
    machine = undecided(codings)
    if coder:
        machine = machine[machine["coder"] == coder]
    top = one_per_dimension(effective_codings(machine))
    alts = _alternatives(machine, top)
    top = top.assign(alternatives=alts)
    # the same columns on every page: every coded dimension (or the ones asked for), plus any other on this page
    dims = _dimension_order(set(dimensions) if dimensions is not None else
                            (set(DIMENSIONS) - {"theme"}) | set(top["dimension"]))
    ex = store.excerpts_of(ids).set_index("excerpt_id").loc[ids].reset_index()
    out = ex[["excerpt_id", "source_id", "source_name", "turn_index", "segment", "speaker", "start", "end", "text"]]
    if context:
        out = in_context(store, out)
    meta = cards.set_index("excerpt_id").loc[ids, ["n_suggestions", "uncertainty"]].reset_index(drop=True)
    out = pd.concat([out.reset_index(drop=True), meta], axis=1)
    shown = top.groupby("excerpt_id")["dimension"].agg(list).to_dict()
    out["dimensions"] = [_dimension_order(shown.get(e, [])) for e in ids]
    out["decided"] = _decided(codings, ids)
    wide = top.set_index(["excerpt_id", "dimension"])
    for dim in dims:
        part = wide.xs(dim, level="dimension") if dim in set(top["dimension"]) else wide.iloc[:0].droplevel("dimension")
        part = part.reindex(ids)
        out[dim] = part["code_id"].to_numpy(dtype=object)
        for f in CARD_FIELDS:
            out[f"{dim}_{f}"] = part[f].astype("Int64").to_numpy() if f == "coding_id" else part[f].to_numpy()
    return out


def review_cards(store: Store, order: str = "uncertainty", dimensions: list[str] | tuple[str, ...] | None = None,
                 source: str | None = None, segment: str | None = None, coder: str | None = None,
                 limit: int | None = None, offset: int = 0, context: bool = True,
                 roles: tuple[str, ...] = VOICE_ROLES) -> pd.DataFrame:
    """Review cards: one row per excerpt with at least one undecided machine suggestion, all its dimensions at once.

    Columns: the excerpt (``excerpt_id, source_id, source_name, turn_index, segment, speaker, start,
    end, text``, and with ``context`` the previous and next turns ``before`` and ``after``),
    ``n_suggestions``, ``uncertainty`` (see :func:`card_queue`), ``dimensions`` (the dimensions to
    review on this card, in the study's dimension order), ``decided`` (``{dimension: code}`` that a
    human already settled on this excerpt, ``None`` for "no code"; shown, not asked again), and per
    dimension ``<dim>`` (the suggested code, missing when that dimension has nothing to review),
    ``<dim>_confidence``, ``<dim>_coder``, ``<dim>_rationale``, ``<dim>_alternatives`` (what other
    machine coders suggested), ``<dim>_value`` and ``<dim>_coding_id``. ``limit`` and ``offset``
    page the ordered cards; only that page's texts and context are read.
    """
    q = card_queue(store, order, dimensions, source, segment, coder, roles)
    q = q.iloc[offset:] if limit is None else q.iloc[offset:offset + limit]
    return card_details(store, q, dimensions, coder, context)


def _alternatives(machine: pd.DataFrame, top: pd.DataFrame) -> list[str]:
    """Per row of ``top``: the other machine coders' suggestions for that excerpt and dimension ("code (coder, 0.40)")."""
    if top.empty:
        return []
    several = machine[machine.duplicated(["excerpt_id", "dimension"], keep=False)]
    if several.empty:
        return [""] * len(top)
    several = several.sort_values(["confidence", "coder"], ascending=[False, True])
    by = {}
    for e, d, c, k, p in zip(several["excerpt_id"], several["dimension"], several["code_id"], several["coder"],
                             several["confidence"]):
        by.setdefault((e, d), []).append((c, k, f"{c} ({k}, {p:.2f})"))
    return ["; ".join(lab for c2, k2, lab in by.get((e, d), []) if k2 != k)      # the coder's own are ``also``
            for e, d, k in zip(top["excerpt_id"], top["dimension"], top["coder"])]


def _decided(codings: pd.DataFrame, ids: list[str]) -> list[dict]:
    """Per excerpt: ``{dimension: accepted code, or None when humans only rejected}`` over human codings."""
    human = codings[human_mask(codings["coder"])]
    out: dict[str, dict] = {e: {} for e in ids}
    if human.empty:
        return [out[e] for e in ids]
    for e, d in human[["excerpt_id", "dimension"]].drop_duplicates().itertuples(index=False):
        out[e][d] = None
    accepted = effective_codings(human, include_suggested=False)
    for e, d, c in zip(accepted["excerpt_id"], accepted["dimension"], accepted["code_id"]):
        out[e][d] = c if out[e].get(d) is None else f"{out[e][d]}; {c}"
    return [{d: out[e][d] for d in _dimension_order(out[e])} for e in ids]


def uncovered(store: Store, roles: tuple[str, ...] = VOICE_ROLES) -> pd.DataFrame:
    """Excerpts to code by hand: those in a language that no coder of the study's last coding run covers in
    some dimension (``coding.languages``, e.g. thought in Romanian), in reading order, without the
    dimensions a human has already coded there.

    They have no suggestion, so they are not review cards; :func:`uncovered_cards` shows them as
    cards with nothing suggested, and :func:`decide_card` codes them. Columns: ``excerpt_id,
    source_name, language, dimensions`` (the dimensions no coder covers there).
    """
    empty = pd.DataFrame({"excerpt_id": pd.Series(dtype=object), "source_name": pd.Series(dtype=object),
                          "language": pd.Series(dtype=object), "dimensions": pd.Series(dtype=object)})
    gaps = _coverage_gaps(store)
    if not gaps:
        return empty
    ex = store.excerpts(roles=roles, columns=["excerpt_id", "source_name", "language"])
    ex = ex[ex["language"].isin(list(gaps))]
    if ex.empty:
        return empty
    codings = store.codings_of(list(ex["excerpt_id"]))
    human = codings[human_mask(codings["coder"])]
    done = set(zip(human["excerpt_id"], human["dimension"]))
    ex = ex.assign(dimensions=[[d for d in gaps[lang] if (e, d) not in done] for e, lang in zip(ex["excerpt_id"], ex["language"])])
    ex = ex[ex["dimensions"].map(len) > 0]
    return ex.sort_values(["source_name", "excerpt_id"], kind="stable").reset_index(drop=True)[list(empty.columns)]


def _coverage_gaps(store: Store) -> dict[str, list[str]]:
    """Per language of the study's last coding run: the dimensions no coder covered there."""
    raw = store.info().get("coding.languages")
    if not raw:
        return {}
    gaps = {lang: _dimension_order([d for d, c in rec["coders"].items() if c is None])
            for lang, rec in json.loads(raw).items() if lang != "*"}
    return {lang: dims for lang, dims in gaps.items() if dims}


def uncovered_cards(store: Store, limit: int | None = None, offset: int = 0, context: bool = True,
                    roles: tuple[str, ...] = VOICE_ROLES, todo: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`uncovered` as cards, in :func:`review_cards`' columns: per dimension to code, ``<dim>`` is
    :data:`NO_CODE` (nothing suggested) and the rationale says that no coder covers it in that language.
    ``todo``: :func:`uncovered`'s frame when the caller already has it (it is not read again)."""
    q = uncovered(store, roles) if todo is None else todo
    q = q.iloc[offset:] if limit is None else q.iloc[offset:offset + limit]
    ids = list(q["excerpt_id"])
    ex = store.excerpts_of(ids).set_index("excerpt_id").loc[ids].reset_index() if ids else store.excerpts_of([])
    out = ex[["excerpt_id", "source_id", "source_name", "turn_index", "segment", "speaker", "start", "end", "text"]]
    if context:
        out = in_context(store, out)
    out = out.reset_index(drop=True).assign(n_suggestions=0, uncertainty=np.nan)
    out["dimensions"] = list(q["dimensions"])
    codings = store.codings_of(ids)
    out["decided"] = _decided(codings, ids)
    for dim in _dimension_order({d for ds in q["dimensions"] for d in ds}):
        has = [dim in ds for ds in q["dimensions"]]
        out[dim] = [NO_CODE if h else None for h in has]
        out[f"{dim}_rationale"] = [f"no coder covers {dim.replace('_', ' ')} in {lang}: code it by hand, or leave it"
                                   if h else None for h, lang in zip(has, q["language"])]
        for f in CARD_FIELDS:
            if f != "rationale":
                out[f"{dim}_{f}"] = None
    return out


def card_counts(store: Store, roles: tuple[str, ...] = VOICE_ROLES) -> dict[str, int]:
    """The whole study's review work: ``{"excerpts": cards to review, "suggestions": excerpt × dimension}``."""
    return store.review_totals(roles)


def review_summary(store: Store, roles: tuple[str, ...] = VOICE_ROLES) -> str:
    """``"644 excerpts to review (2,202 suggestions)"``."""
    n = card_counts(store, roles)
    if not n["excerpts"]:
        return "Nothing left to review."
    return (f"{n['excerpts']:,} excerpt{'s' if n['excerpts'] != 1 else ''} to review "
            f"({n['suggestions']:,} suggestion{'s' if n['suggestions'] != 1 else ''})")


def decide_card(store: Store, excerpt_id: str, choices: dict[str, str], coder: str = "researcher",
                memo: str | None = None, codes: dict[str, list[str]] | None = None) -> list[Coding]:
    """Decide several dimensions of one excerpt (a review card) at once, in ONE transaction: all or nothing.

    ``choices`` maps a dimension to ``"accept"`` (take the suggestion, with the codes its coder also
    suggested there), ``"reject"`` or :data:`NO_CODE` (no code in this dimension: the suggestion,
    and any other machine coder's code for it, is rejected) or a code id (a recode; exactly the
    suggested codes is an accept), or several code ids (a list, or ``"a; b"``: an excerpt may carry
    several emotions; suggested codes left out are rejected). A code id
    must be one of ``codes[dimension]`` (default: :func:`codebook_codes`) or a code a machine
    suggested there. Dimensions left out stay undecided. Each dimension's decision is the same
    one :func:`decide` writes and replaces all of this coder's earlier decisions on that excerpt
    and dimension (re-deciding a card changes your answer, never adds a second one). The
    suggestion decided is the one that counts (the most confident; the card shows it), also when a
    human has already decided the dimension. A dimension that no coder covers in the excerpt's
    language (:func:`uncovered`) takes a code id, or several, coded by hand; :data:`NO_CODE` leaves
    it uncoded. Returns the codings written.
    """
    who = human_coder(coder)
    if not choices:
        raise InputError("Nothing to decide: choose accept, reject or a code for at least one dimension.")
    codings = store.codings_of([excerpt_id])
    machine = codings[~human_mask(codings["coder"]) & (codings["status"] == "suggested")]
    lang = store.con.execute("SELECT language FROM excerpts WHERE excerpt_id = ?", (excerpt_id,)).fetchone()
    if lang is None:
        raise InputError(f"Unknown excerpt id {excerpt_id!r}; list valid ids with `workbench excerpts --study STUDY`.")
    by_hand = _coverage_gaps(store).get(lang[0], [])      # dimensions no coder covers in the excerpt's language
    if machine.empty and not by_hand:
        raise InputError(f"Excerpt {excerpt_id} has no machine suggestions to decide on.")
    top = one_per_dimension(effective_codings(machine)).set_index("dimension")
    valid = codes if codes is not None else codebook_codes(store)
    plan = []
    for dim, choice in choices.items():
        if dim not in top.index and dim in by_hand:
            if isinstance(choice, str) and choice.strip() in ("reject", NO_CODE):
                continue                                    # nothing suggested, nothing coded: left as it is
            chosen = _codes_given(choice)
            wrong = [c for c in chosen if c not in valid.get(dim, [])] or ([] if chosen else [str(choice)])
            if wrong:
                raise InputError(f"Unknown {dim} code {wrong[0]!r} (nothing was suggested: no coder covers {dim} in "
                                 f"{lang[0]}). Valid {dim} codes: {', '.join(valid.get(dim, []))}.")
            plan.append((dim, {"excerpt_id": excerpt_id, "dimension": dim, "code_id": "", "coder": "hand"}, "hand",
                         chosen, ()))
            continue
        if dim not in top.index:
            raise InputError(f"Excerpt {excerpt_id} has no {dim} suggestion; its card has "
                             f"{', '.join(_dimension_order([*top.index, *by_hand]))}.")
        item = top.loc[dim].to_dict() | {"excerpt_id": excerpt_id, "dimension": dim}
        others = tuple(machine.loc[machine["dimension"] == dim, "code_id"])
        if isinstance(choice, str) and choice.strip() in ("accept", "reject", NO_CODE):
            choice = choice.strip()
            plan.append((dim, item, "accept" if choice == "accept" else "reject", None, others))
            continue
        chosen = _codes_given(choice)
        allowed = list(dict.fromkeys([*valid.get(dim, []), *others]))
        wrong = [c for c in chosen if c not in allowed] or ([] if chosen else [str(choice)])
        if wrong:
            raise InputError(f"Unknown {dim} code {wrong[0]!r}. Valid {dim} codes: {', '.join(allowed)}; "
                             f"or 'accept', 'reject' ({NO_CODE!r}).")
        plan.append((dim, item, "recode", chosen, others))
    if not plan:
        raise InputError("Nothing to decide: pick a code for at least one dimension.")
    written: list[Coding] = []
    with store.transaction():
        for dim, item, action, code_id, others in plan:
            new = ([Coding(excerpt_id, dim, c, who, 1.0, f"coded by hand (no coder covers {dim} in {lang[0]})", "accepted",
                           memo=(memo or "").strip()) for c in code_id] if action == "hand" else
                   _decision(item, action, who, code_id, memo or "", also_reject=others))
            store.replace_decisions(who, excerpt_id, dim, None, new)
            written += new
    return written


def undo_card(store: Store, excerpt_id: str, dimensions: list[str] | tuple[str, ...], coder: str = "researcher") -> int:
    """Take back this coder's decisions on these dimensions of one excerpt, in one transaction; the card is back."""
    who = human_coder(coder)
    removed = 0
    with store.transaction():
        for dim in dimensions:
            removed += store.replace_decisions(who, excerpt_id, dim, None, [])
    return removed


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


__all__ = ["ACTIONS", "CARD_FIELDS", "CARD_ORDERS", "NO_CODE", "ORDERS", "Comparison", "card_counts", "card_details",
           "card_queue", "codebook_codes", "compare_coders", "decide", "decide_card", "in_context", "one_per_dimension",
           "queue_counts", "uncovered", "uncovered_cards",
           "review_cards", "review_queue", "review_summary", "undo", "undo_card"]
