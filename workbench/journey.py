"""Evidence-linked journey maps: stages × lanes of claims, each claim tied to the excerpts behind it.

    >>> jm = build_map(store, segment="young_professional")          # doctest: +SKIP
    >>> jm.claims[0].text, jm.claims[0].evidence[:2]                  # doctest: +SKIP
    ('Waiting / delay', ('S1a2b3c4d5e6-00004', 'S1a2b3c4d5e6-00009'))

A map is built from a study's *effective* codings: per excerpt and dimension, a human decision
(accepted) wins; a human rejection removes the machine suggestion it rejected; otherwise the
machine suggestion counts when ``include_suggested`` (and the claim says how much of its
support is still unreviewed). Only the customer's own voice is mapped (participants, customers).

Lanes, per stage:

* **doing** — activities: what customers do at the stage, coded with the stage model's activities
  codebook ("Compares fees between banks", "Calls the helpline");
* **thinking** — the customers' questions, expectations and worries, grouped per stage by what they
  are about (the pain point, activity or channel coded on the same excerpt); each group's claim is
  its most representative verbatim quote, trimmed at a clause boundary and marked as a quote;
* **feeling** — emotions (fine label, with family and valence) and the emotion curve;
* **touchpoints**, **people**, **backstage**, **opportunities** — coded codes;
* **pain points** — category, frequency and the severity distribution (1 minor, 2 major, 3 blocking);
* **metrics** — CSAT / NPS / CES from the sources' metadata, where the data has them.

Every claim counts its excerpts and distinct participants (a call-log conversation counts as a
participant); a claim from one participant is marked *thin*. Same study + same settings →
identical map (claims, order, ids, bootstrap intervals).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .codebook import DIMENSION_CODEBOOKS, parse_codebook, resolve
from .coding.cues import CueMatcher
from .coding.rules import _cues, stage_activities
from .coding.run import study_coverage_lines
from .decisions import effective_rows
from .errors import InputError, WorkbenchError
from .model import VOICE_ROLES, Codebook
from .store import Store
from .text import TOKEN

LANES = ("doing", "thinking", "feeling", "touchpoints", "people", "backstage", "pain_points", "opportunities", "metrics")
LANE_LABELS = {"doing": "Doing", "thinking": "Thinking", "feeling": "Feeling", "touchpoints": "Touchpoints / channels",
               "people": "People / departments", "backstage": "Backstage processes", "pain_points": "Pain points",
               "opportunities": "Opportunities", "metrics": "Metrics"}
_CODED_LANES = {"touchpoint": "touchpoints", "actor": "people", "backstage": "backstage", "opportunity": "opportunities"}
METRICS = ("csat", "nps", "ces")
#: Excerpts of a claim :meth:`JourneyMap.sample` looks at for distinct participants.
SAMPLE_SCAN = 50_000
THOUGHT_KINDS = {"question": "Question", "expectation": "Expectation", "worry": "Worry"}
#: what a thought is about, in order of preference: the first of these coded on the same excerpt
_TOPIC_DIMENSIONS = ("pain_point", "activity", "touchpoint")
QUOTE_CHARS = 140      # a Thinking claim's quote is trimmed to this at a clause boundary
QUOTE_MARKS = "\"'“”‘’«»"


@dataclass(frozen=True)
class Claim:
    claim_id: str
    stage: str
    lane: str
    text: str
    evidence: tuple[str, ...]          # excerpt ids, most confident first
    n_excerpts: int
    n_participants: int
    detail: str = ""                   # e.g. "anger family, valence −0.40" or "severity 1×2 · 2×5 · 3×1 (mean 1.9)"
    value: float | None = None         # severity (pain points), valence (feeling), mean (metrics)
    unreviewed: float = 0.0            # share of the evidence that is machine-suggested, not yet reviewed
    code: str = ""                     # the code behind a coded claim ("" for quotes, phrases and metrics)

    @property
    def thin(self) -> bool:
        return self.n_participants <= 1


@dataclass(frozen=True)
class CurvePoint:
    """The emotion curve at one stage.

    ``mean`` is the mean valence of the *emotional* excerpts (|valence| above the neutral band; ``n``
    of them), so neutral talk does not average the highs and lows away; ``share_negative`` and
    ``share_positive`` are shares of all ``n_all`` excerpts with a valence. Each comes with a seeded
    bootstrap 95 % interval. ``moment`` marks the largest drop and rise between stages ("drop" /
    "rise", with ``change`` from the stage before): the journey's moments of truth.
    """

    stage: str
    n: int
    mean: float | None
    low: float | None
    high: float | None
    evidence: tuple[str, ...]
    n_all: int = 0
    share_negative: float | None = None
    negative_low: float | None = None
    negative_high: float | None = None
    share_positive: float | None = None
    positive_low: float | None = None
    positive_high: float | None = None
    moment: str = ""
    change: float | None = None


@dataclass
class JourneyMap:
    study: str
    stage_model: str
    stage_model_version: int
    stages: list[tuple[str, str]]                  # (id, label) in journey order
    segment: str | None
    claims: list[Claim]
    curve: list[CurvePoint]
    evidence: pd.DataFrame                         # one row per mapped excerpt
    settings: dict = field(default_factory=dict)
    coders: list[str] = field(default_factory=list)
    codebooks: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checks: dict = field(default_factory=dict)     # the map checked against the data's own ratings (valence vs CSAT)
    group_by: str | None = None                    # a group's map: the grouping spec ("outcome", "csat<=2") ...
    group: str | None = None                       # ... and the group ("resolved", "csat<=2")
    groups: list["JourneyMap"] = field(default_factory=list)   # a comparison: each group's map
    differences: pd.DataFrame | None = None        # ... and their tested differences (:func:`compare_maps`)
    _row_of: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        """What this map is of: its group, its segment, or "all"."""
        return self.group or self.segment or "all"

    @property
    def n_participants(self) -> int:
        return int(self.evidence["participant"].nunique())

    def claims_frame(self) -> pd.DataFrame:
        rows = [{"claim_id": c.claim_id, "stage": c.stage, "lane": c.lane, "text": c.text, "detail": c.detail,
                 "n_excerpts": c.n_excerpts, "n_participants": c.n_participants, "thin": c.thin,
                 "unreviewed": round(c.unreviewed, 3), "evidence_ids": ";".join(c.evidence)} for c in self.claims]
        return pd.DataFrame(rows, columns=["claim_id", "stage", "lane", "text", "detail", "n_excerpts",
                                           "n_participants", "thin", "unreviewed", "evidence_ids"])

    def curve_frame(self) -> pd.DataFrame:
        labels = dict(self.stages)
        names = [f.name for f in fields(CurvePoint)]       # not asdict: it deep-copies every evidence tuple
        return pd.DataFrame([{**{n: getattr(p, n) for n in names}, "label": labels[p.stage], "evidence": ";".join(p.evidence)}
                             for p in self.curve])

    def claim(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.claim_id == claim_id:
                return c
        raise KeyError(claim_id)

    def quotes(self, claim_id: str) -> pd.DataFrame:
        """The verbatim quotes behind a claim, with source, speaker and offsets (most telling first)."""
        return self.evidence_rows(self.claim(claim_id).evidence)

    def _rows(self) -> dict[str, int]:
        if self._row_of is None:
            self._row_of = dict(zip(self.evidence["excerpt_id"].tolist(), range(len(self.evidence))))
        return self._row_of

    def evidence_rows(self, excerpt_ids: Sequence[str]) -> pd.DataFrame:
        """Rows of :attr:`evidence` for these excerpt ids, in the order given."""
        row_of = self._rows()
        return self.evidence.iloc[[row_of[i] for i in excerpt_ids]].reset_index(drop=True)

    def quote(self, excerpt_id: str) -> str:
        """The verbatim text of one mapped excerpt."""
        return str(self.evidence["quote"].iat[self._rows()[excerpt_id]])

    def sample(self, excerpt_ids: Sequence[str], n: int, scan: int = SAMPLE_SCAN) -> list[str]:
        """Up to ``n`` of these excerpts to show a reader: as many participants as there are, then more.

        Evidence comes most telling first (reviewed, then most confident), and in a call log one
        talkative caller can hold the top of a claim: the sample takes each participant's first
        excerpt until ``n`` people speak, fills up with the next excerpts when fewer do, and keeps the
        evidence order. It looks at the first ``scan`` excerpts only, so a claim of a million excerpts
        is sampled at once; the same map gives the same sample."""
        row_of, part = self._rows(), self.evidence["participant"].to_numpy(dtype=object)
        head = list(excerpt_ids[:scan])
        seen: set = set()
        first, repeats = [], []
        for i, eid in enumerate(head):
            who = part[row_of[eid]]
            if who in seen:
                if len(repeats) < n:
                    repeats.append(i)
                continue
            seen.add(who)
            first.append(i)
            if len(first) == n:
                break
        return [head[i] for i in sorted(first + repeats[:n - len(first)])]


# ---------------------------------------------------------------------------------------- inputs
@dataclass
class MapInputs:
    """Everything a map is built from, read from a study once (:func:`load_map_inputs`).

    ``codebooks`` are the ones the study was coded with (stored in the study at coding time), so a
    claim keeps the label its coders used even after the shipped YAML changes.
    """

    study: str
    stage_model: Codebook
    codebooks: dict[str, Codebook]       # dimension -> codebook (not the stage model)
    excerpts: pd.DataFrame               # customer-voice excerpts (:data:`MAP_COLUMNS`), sorted by id
    codings: pd.DataFrame                # every coding and decision (``Store.decisions``)
    metrics: pd.DataFrame                # per source: csat, nps, ces
    notes: list[str] = field(default_factory=list)
    attributes: pd.DataFrame | None = None   # per source (index source_id): the attributes asked for at loading

    @property
    def segments(self) -> list[str]:
        return sorted(self.excerpts["segment"].dropna().unique().tolist())


@dataclass(frozen=True)
class MapSettings:
    segment: str | None = None
    include_suggested: bool = True
    seed: int = 0
    n_boot: int = 1000
    top_thoughts: int = 4             # Thinking: the largest groups of questions / expectations / worries per stage
    neutral_band: float = 0.25        # |valence| at or below it is neutral (the embedding coder's own band)
    label_language: str | None = None  # label stages and codes in this language where the codebooks have it ("ro")
    compare_by: str | None = None     # compare groups of sources (:mod:`workbench.groups` spec: "outcome", "csat<=2", …)
    group: str | None = None          # with compare_by: the map of this one group
    groups: tuple[str, ...] | None = None   # with compare_by: which groups to compare (default: all)
    min_group: int = 5                # a group with fewer participants is flagged thin


def study_stage_model(store: Store, name: str | None = None) -> Codebook:
    """The stage model: by name/path, else the one the study was coded with (stored in the study)."""
    if name:
        return resolve(name)
    info = store.info()
    if "coding.stage_model_yaml" in info:
        return parse_codebook(info["coding.stage_model_yaml"], f"<stage model stored in {store.path.name}>")
    from .refi_import import imported_codebooks
    if "stage" in (imported := imported_codebooks(info)):      # a REFI-QDA project's stages, not yet re-coded
        return imported["stage"]
    raise InputError(f"{store.path} has no coded stages yet: run `workbench code --study {store.path}` first, "
                     "or pass --stage-model.")


def study_codebooks(store: Store, info: dict | None = None, stage_model: Codebook | None = None
                    ) -> tuple[dict[str, Codebook], list[str]]:
    """The codebook of each coded dimension as the study was coded with it; the shipped one (with a
    note) for a study coded before codebooks were stored. Activities: the stored ones, else those the
    stage model names (``activities:``), else none."""
    info = store.info() if info is None else info
    stored = {}
    if "coding.codebooks_yaml" in info:
        try:
            stored = json.loads(info["coding.codebooks_yaml"])
        except ValueError:
            stored = {}
    from .refi_import import imported_codebooks
    imported = imported_codebooks(info)          # from a REFI-QDA project: what a dimension not coded here uses
    books, missing = {}, []
    for dim, name in DIMENSION_CODEBOOKS.items():
        if dim in stored:
            books[dim] = parse_codebook(stored[dim], f"<{dim} codebook stored in {store.path.name}>")
        elif dim in imported:
            books[dim] = imported[dim]
        else:
            books[dim] = resolve(name)
            missing.append(name)
    if "activity" in stored:
        books["activity"] = parse_codebook(stored["activity"], f"<activity codebook stored in {store.path.name}>")
    elif "activity" in imported:
        books["activity"] = imported["activity"]
    elif stage_model is not None:
        try:
            acts = stage_activities(stage_model)
        except WorkbenchError:       # a path relative to a stage model file this study no longer knows
            acts = None
        if acts is not None:
            books["activity"] = acts
    for dim in sorted(set(imported) - set(books) - {"stage"}):     # themes of another tool's code tree
        books[dim] = imported[dim]
    notes = [f"Labels of {', '.join(missing)} come from the shipped codebooks: the study was coded before the "
             "workbench stored the codebooks it was coded with (re-code it to record them)."] \
        if missing and "coding.stage_model_yaml" in info else []
    return books, notes


#: The excerpt columns a map reads (:attr:`MapInputs.excerpts`).
MAP_COLUMNS = ("excerpt_id", "source_id", "source_name", "speaker", "participant", "segment", "start", "end", "text")


def load_map_inputs(store: Store, stage_model: str | None = None, attributes: Sequence[str] = ()) -> MapInputs:
    """Read a study's inputs for maps once, as one moment of the study (then build any number of maps).

    ``attributes``: the source attributes comparisons will group by (``("outcome", "csat")``); a
    spec such as ``"csat<=2"`` is reduced to its attribute."""
    with _no_gc(), store.snapshot(bulk=True):   # loading builds ~10^6 acyclic objects (no GC rescans)
        info = store.info()
        model = study_stage_model(store, stage_model)
        books, notes = study_codebooks(store, info, model)
        notes = notes + study_coverage_lines(info)       # "14 excerpts in Romanian: … no coder covers emotion in ro"
        with concurrent.futures.ThreadPoolExecutor(1) as pool:    # with bulk readers, the two big reads overlap
            codings = pool.submit(store.decisions, categorical=True) if store.bulk else None
            excerpts = store.excerpts(roles=VOICE_ROLES, by_id=True, columns=MAP_COLUMNS)
            codings = codings.result() if codings is not None else store.decisions(categorical=True)
        attrs = None
        if attributes:
            from .groups import parse_grouping, source_attributes
            names = tuple(dict.fromkeys(parse_grouping(a).attribute for a in attributes))
            attrs = source_attributes(store, names)
        return MapInputs(study=info.get("name", store.path.stem), stage_model=model, codebooks=books,
                         excerpts=excerpts, codings=codings, metrics=_meta_metrics(store), notes=notes, attributes=attrs)


def _participant(ex: pd.DataFrame) -> pd.Series:
    p = ex["participant"].fillna("").astype(str)
    return p.where(p != "", ex["source_id"])


def _meta_metrics(store: Store) -> pd.DataFrame:
    """CSAT, NPS and CES of each source, from its metadata (NaN where absent or not a number).

    Read by SQLite's JSON functions: a call log has a source per conversation, and parsing each
    one's metadata in Python took 2 s of a 1,000,000-utterance map."""
    picks = ", ".join(f"CASE WHEN json_valid(meta) THEN json_extract(meta, '$.{k}') END" for k in METRICS)
    rows = store.con.execute(f"SELECT source_id, {picks} FROM sources ORDER BY name, source_id").fetchall()

    def number(v) -> float:
        if v is None or v == "":
            return math.nan
        try:
            return float(v)
        except (TypeError, ValueError):
            return math.nan

    return pd.DataFrame([(r[0], *map(number, r[1:])) for r in rows], columns=["source_id", *METRICS])


# ---------------------------------------------------------------------------------------- building
def build_map(inputs: MapInputs | Store, settings: MapSettings | None = None, *, stage_model: str | None = None,
              **options) -> JourneyMap:
    """The journey map of a study (optionally one segment).

    ``inputs`` comes from :func:`load_map_inputs` (a :class:`Store` is read on the spot, with
    ``stage_model``); ``settings`` (or its fields as keywords: ``segment``, ``include_suggested``,
    ``seed``, ``n_boot``, ``top_thoughts``) says which map. Pure: no store reads, same inputs and
    settings → the same map. Works on integer positions (excerpts sorted by id), so large studies
    map quickly (``benchmarks/report.py`` measures it).
    """
    settings = MapSettings(**{**asdict(settings or MapSettings()), **options})
    if isinstance(settings.groups, (list, str)):
        settings = replace(settings, groups=tuple([settings.groups] if isinstance(settings.groups, str) else settings.groups))
    if isinstance(inputs, Store):
        inputs = load_map_inputs(inputs, stage_model, (settings.compare_by,) if settings.compare_by else ())
    elif stage_model is not None:
        raise TypeError("stage_model is chosen when the inputs are loaded: load_map_inputs(store, stage_model)")
    with _no_gc():
        if settings.compare_by and settings.group is None:
            return _build_comparison(inputs, settings)
        return _build_map(inputs, settings)


def grouping(inputs: MapInputs, settings: MapSettings):
    """The :class:`~workbench.groups.Grouping` a comparison's settings describe, its groups found in the data."""
    from .groups import parse_grouping

    g = parse_grouping(settings.compare_by)
    return g.with_labels(_group_values(inputs, g.attribute), settings.groups)


def _group_values(inputs: MapInputs, attribute: str, ex: pd.DataFrame | None = None) -> pd.Series:
    """Each excerpt's value of ``attribute`` (its source's), in the order of ``ex`` (default: all excerpts)."""
    ex = inputs.excerpts if ex is None else ex
    attrs = inputs.attributes
    if attrs is not None and attribute in attrs.columns:
        return pd.Series(attrs[attribute].reindex(ex["source_id"]).to_numpy(dtype=object), index=ex.index)
    if attribute == "segment":
        return ex["segment"]
    raise InputError(f"The map inputs hold no attribute {attribute!r}: load them with "
                     f"load_map_inputs(store, attributes=[{attribute!r}]).")


def _build_comparison(inputs: MapInputs, settings: MapSettings) -> "JourneyMap":
    """The map of every source in the comparison, with each group's map and their tested differences."""
    g = grouping(inputs, settings)
    main = _build_map(inputs, replace(settings, compare_by=None, groups=None))
    maps, notes = [], []
    for label in g.labels:
        try:
            maps.append(_build_map(inputs, replace(settings, group=label, groups=None)))
        except InputError:
            notes.append(f"Group {label!r} ({g.spec}) has no coded customer excerpts: it is not compared.")
    for m in maps:
        if m.n_participants < settings.min_group:
            notes.append(f"Group {m.name!r} is thin: {m.n_participants} participant{'s' * (m.n_participants != 1)} "
                         f"(under {settings.min_group}); "
                         "read its differences with care.")
    if len(maps) < 2:
        notes.append(f"Fewer than two groups of {g.spec} have coded excerpts: nothing to compare.")
    main.groups = maps
    main.group_by = g.spec
    main.differences = compare_maps(maps) if len(maps) >= 2 else pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    main.notes = main.notes + notes
    main.settings = {**main.settings, "compare_by": g.spec, "groups": list(g.labels)}
    return main


@contextlib.contextmanager
def _no_gc():
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class _Frame:
    """A map under construction: the mapped excerpts (positions 0..n-1), their effective codings and
    stages, and ``make`` to add a claim. Each lane builder reads it and adds its claims."""

    inputs: MapInputs
    settings: MapSettings
    stage_ids: list[str]
    ex: pd.DataFrame                 # mapped excerpts with their stage
    eff: pd.DataFrame                # effective codings of mapped excerpts (``pos`` = excerpt position)
    stage_of: np.ndarray             # stage index per excerpt
    person: np.ndarray               # participant index per excerpt
    rank: np.ndarray                 # evidence order: reviewed first, then the most confident, then id
    unreviewed: np.ndarray           # excerpt positions whose stage or codes are still machine-suggested
    claims: list[Claim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _by_dim: dict | None = None

    @property
    def n(self) -> int:
        return len(self.ex)

    def make(self, stage: str, lane: str, key: str, text: str, positions: np.ndarray, detail: str = "",
             value: float | None = None, code: str = "") -> None:
        p = np.unique(positions)
        if not len(p):
            return
        p = p[np.argsort(self.rank[p], kind="stable")]
        eids = self.ex["excerpt_id"].to_numpy(dtype=object)
        self.claims.append(Claim(f"{stage}.{lane}.{_slug(key)}", stage, lane, text, tuple(eids[p].tolist()), len(p),
                                 len(np.unique(self.person[p])), detail, value, float(self.unreviewed[p].mean()), code))

    def rows_of(self, dim: str) -> pd.DataFrame:
        """Effective codings of ``dim`` (the rows of each dimension are found once per map)."""
        if self._by_dim is None:
            self._by_dim = self.eff.groupby("dimension", sort=False).indices
        return self.eff.iloc[self._by_dim.get(dim, np.zeros(0, np.int64))]

    def coded(self, dim: str) -> tuple[pd.DataFrame, dict]:
        """Effective codings of ``dim`` and their row indices grouped by (stage index, code)."""
        rows = self.rows_of(dim)
        groups = pd.DataFrame({"stage": self.stage_of[rows["pos"].to_numpy()],
                               "code_id": rows["code_id"].to_numpy(dtype=object)}).groupby(["stage", "code_id"], sort=True).indices
        return rows, groups

    def label(self, dim: str, code: str):
        cb = self.inputs.codebooks.get(dim)
        return next((c for c in cb.codes if c.code_id == code), None) if cb else None


#: lane name -> builder(frame) that adds the lane's claims; a new lane is one function here.
LANE_BUILDERS: dict[str, Callable[[_Frame], None]] = {}


def lane(name: str):
    def register(fn: Callable[[_Frame], None]) -> Callable[[_Frame], None]:
        LANE_BUILDERS[name] = fn
        return fn
    return register


def _prepare(inputs: MapInputs, settings: MapSettings) -> _Frame:
    model = inputs.stage_model
    stage_ids = [c.code_id for c in model.ordered]
    ex = inputs.excerpts
    segment = settings.segment
    if segment is not None:
        if segment not in inputs.segments:
            raise InputError(f"No segment {segment!r} in this study; it has: {', '.join(inputs.segments) or '(none)'}.")
        ex = ex[ex["segment"] == segment]
    if settings.compare_by and settings.group is not None:
        from .groups import parse_grouping
        g = parse_grouping(settings.compare_by)
        if g.kind != "values" and settings.group not in g.labels:
            raise InputError(f"No group {settings.group!r} in {g.spec!r}; its groups are: {', '.join(g.labels)}.")
        ex = ex[g.assign(_group_values(inputs, g.attribute, ex)).eq(settings.group).to_numpy()]
    ex = ex.reset_index(drop=True)
    cod = inputs.codings
    pos = pd.Index(ex["excerpt_id"]).get_indexer(cod["excerpt_id"])
    mapped = pos >= 0
    cod, pos = cod[mapped].reset_index(drop=True), pos[mapped]
    rows, suggested = effective_rows(pos, cod, settings.include_suggested)
    eff = cod.iloc[rows].reset_index(drop=True)
    eff["suggested"] = suggested
    eff["pos"] = epos = pos[rows]

    # the stage of each excerpt (the first effective stage coding in this stage model)
    is_stage = (eff["dimension"] == "stage").to_numpy()
    stage_idx = pd.Index(stage_ids).get_indexer(eff["code_id"])                   # -1: not in this model
    notes = list(inputs.notes)
    off = is_stage & (stage_idx < 0)
    if off.any():
        notes.append(f"{eff.loc[off, 'excerpt_id'].nunique()} excerpts coded with stages outside {model.name} "
                     f"({', '.join(sorted(eff.loc[off, 'code_id'].unique())[:5])}) are not on this map.")
    on = np.flatnonzero(is_stage & (stage_idx >= 0))
    on = on[np.r_[True, epos[on][1:] != epos[on][:-1]]] if len(on) else on
    stage_of = np.full(len(ex), -1)
    stage_of[epos[on]] = stage_idx[on]
    conf_of = np.zeros(len(ex))
    conf_of[epos[on]] = eff["confidence"].to_numpy(dtype=float)[on]
    keep = stage_of >= 0
    if not keep.any():
        raise InputError("No coded customer excerpts to map" + (f" in segment {segment!r}" if segment else "") +
                         (f" in group {settings.group!r} of {settings.compare_by}" if settings.group is not None else "") +
                         ": code the study first (`workbench code --study STUDY`), or include suggested codings.")
    new_pos = np.cumsum(keep) - 1
    ex = ex[keep].reset_index(drop=True)
    stage_of, conf_of = stage_of[keep], conf_of[keep]
    ex["stage"] = np.asarray(stage_ids, dtype=object)[stage_of]
    ex["participant_key"] = _participant(ex)
    eff = eff[keep[epos]].reset_index(drop=True)
    eff["pos"] = new_pos[epos[keep[epos]]]
    n = len(ex)
    unreviewed = np.zeros(n, bool)
    unreviewed[eff.loc[eff["suggested"], "pos"].to_numpy()] = True
    rank = np.empty(n, np.int64)
    rank[np.lexsort((np.arange(n), -conf_of, unreviewed))] = np.arange(n)
    person, _ = pd.factorize(ex["participant_key"])
    return _Frame(inputs, settings, stage_ids, ex, eff, stage_of, person, rank, unreviewed, notes=notes)


def _build_map(inputs: MapInputs, settings: MapSettings) -> JourneyMap:
    f = _prepare(inputs, settings)
    for name in LANES:
        if name in LANE_BUILDERS:
            LANE_BUILDERS[name](f)
    stage_rank = {s: i for i, s in enumerate(f.stage_ids)}
    lane_rank = {name: i for i, name in enumerate(LANES)}
    f.claims.sort(key=lambda c: (stage_rank[c.stage], lane_rank[c.lane], -c.n_participants, -c.n_excerpts, c.text))
    model = inputs.stage_model
    valence = _valence(f)
    evidence = f.ex[["excerpt_id", "source_id", "source_name", "speaker", "participant_key", "segment", "stage", "start",
                     "end", "text"]].rename(columns={"text": "quote", "participant_key": "participant"})
    evidence["valence"] = valence
    return JourneyMap(
        study=inputs.study, stage_model=model.name, stage_model_version=model.version,
        stages=[(c.code_id, c.label_in(settings.label_language)) for c in model.ordered], segment=settings.segment,
        claims=f.claims,
        curve=_curve(f, valence), evidence=evidence, checks=_checks(f, valence),
        settings={"stage_model": model.name, "segment": settings.segment, "include_suggested": settings.include_suggested,
                  "seed": settings.seed, "bootstrap_resamples": settings.n_boot, "top_thoughts": settings.top_thoughts,
                  "neutral_band": settings.neutral_band,
                  **({"label_language": settings.label_language} if settings.label_language else {}),
                  **({"compare_by": settings.compare_by, "group": settings.group} if settings.group is not None else {})},
        coders=sorted(f.eff["coder"].unique().tolist()),
        codebooks={model.name: model.version, **{cb.name: cb.version for cb in inputs.codebooks.values()}},
        notes=f.notes, group_by=settings.compare_by if settings.group is not None else None,
        group=settings.group)


# ---------------------------------------------------------------------------------------- lanes
@lane("feeling")
def _feeling(f: _Frame) -> None:
    """Emotions felt at each stage (fine label, with family and mean valence); neutral is not a feeling.

    An excerpt may carry several emotions (the embedding coder's multi-label reading, or a reviewer's
    choice): it supports each of their claims, and a claim's valence is the mean valence of its
    excerpts (each excerpt's one valence, as on the emotion curve)."""
    rows, groups = f.coded("emotion")
    pos = rows["pos"].to_numpy()
    val = _valence(f)[pos]
    for (s_idx, code), r in groups.items():
        if code == "neutral":
            continue
        code_def = f.label("emotion", code)
        values = val[r][~np.isnan(val[r])]
        family = code_def.attributes.get("family", "") if code_def else ""
        v = float(values.mean()) if len(values) else None
        f.make(f.stage_ids[s_idx], "feeling", code, code_def.label_in(f.settings.label_language) if code_def else code, pos[r],
               f"{family} family, valence {v:+.2f}" if v is not None else f"{family} family", v, code=code)


@lane("pain_points")
def _pain_points(f: _Frame) -> None:
    """Pain points per stage, with their severity."""
    rows, groups = f.coded("pain_point")
    pos, val = rows["pos"].to_numpy(), rows["value"].to_numpy(dtype=float)
    for (s_idx, code), r in groups.items():
        if code == "none":
            continue
        code_def = f.label("pain_point", code)
        values = val[r][~np.isnan(val[r])]
        # the distribution, not only a mean: "severity 1×2 · 2×5 · 3×1 (mean 1.9)"
        levels = np.bincount(np.clip(np.rint(values).astype(int), 1, 3), minlength=4)[1:] if len(values) else np.zeros(3, int)
        detail = ("severity " + " · ".join(f"{k}×{n}" for k, n in zip((1, 2, 3), levels.tolist()) if n) +
                  f" (mean {values.mean():.1f})") if len(values) else ""
        f.make(f.stage_ids[s_idx], "pain_points", code, code_def.label_in(f.settings.label_language) if code_def else code, pos[r], detail,
               float(values.mean()) if len(values) else None, code=code)


def _coded_lane(dim: str, lane_name: str) -> Callable[[_Frame], None]:
    def build(f: _Frame) -> None:
        rows, groups = f.coded(dim)
        pos = rows["pos"].to_numpy()
        for (s_idx, code), r in groups.items():
            code_def = f.label(dim, code)
            f.make(f.stage_ids[s_idx], lane_name, code, code_def.label_in(f.settings.label_language) if code_def else code, pos[r], code=code)
    build.__doc__ = f"The {dim} codes at each stage."
    return build


for _dim, _lane in _CODED_LANES.items():
    lane(_lane)(_coded_lane(_dim, _lane))


@lane("doing")
def _doing(f: _Frame) -> None:
    """Activities at each stage; an empty lane says why (no activities codebook, or coded before one)."""
    _coded_lane("activity", "doing")(f)
    if any(c.lane == "doing" for c in f.claims):
        return
    if "activity" not in f.inputs.codebooks:
        f.notes.append(f"The Doing lane is empty: stage model {f.inputs.stage_model.name} names no activities codebook "
                       "(add `activities: <codebook or file>` to it, then re-code the study).")
    elif not len(f.rows_of("activity")):
        f.notes.append("The Doing lane is empty: no excerpt is coded with an activity (a study coded before activities "
                       "existed needs a re-code: `workbench code --study STUDY`).")


@lane("thinking")
def _thinking(f: _Frame) -> None:
    """Questions, expectations and worries per stage, grouped by kind and by what they are about; each
    group's claim is its most representative quote (trimmed at a clause boundary, in quotation marks)."""
    rows, groups = f.coded("thought")
    if not len(rows):
        return
    pos_all = rows["pos"].to_numpy()
    topic = np.full(f.n, "", dtype=object)        # what each excerpt is about: its first topic code
    for dim in reversed(_TOPIC_DIMENSIONS):
        r = f.rows_of(dim)
        r = r[(r["code_id"] != "none").to_numpy()]
        topic[r["pos"].to_numpy()] = [f"{dim}:{c}" for c in r["code_id"].to_numpy(dtype=object)]
    texts = f.ex["text"].to_numpy(dtype=object)
    cb = f.inputs.codebooks.get("thought")
    matcher = CueMatcher(_cues(cb)) if cb else None
    for s_idx in range(len(f.stage_ids)):
        found = []
        for (st, kind), r in groups.items():
            if st != s_idx:
                continue
            pos = pos_all[r]
            for about in sorted(set(topic[pos])):
                p = np.unique(pos[topic[pos] == about])
                found.append((-len(np.unique(f.person[p])), -len(p), kind, about, p))
        for _, _, kind, about, p in sorted(found, key=lambda t: t[:4])[:f.settings.top_thoughts]:
            best = _representative(p, texts, f.rank)
            quote = _clause(texts[best], matcher, kind)
            dim, _, code = about.partition(":")
            label = f.label(dim, code).label_in(f.settings.label_language) if dim and f.label(dim, code) else code
            detail = THOUGHT_KINDS.get(kind, kind) + (f" · {label}" if label else "")
            f.make(f.stage_ids[s_idx], "thinking", f"{kind}-{about}", f"“{quote}”", p, detail,
                   code=f"{kind}/{about}" if about else kind)


def _representative(p: np.ndarray, texts: np.ndarray, rank: np.ndarray, cap: int = 400) -> int:
    """The excerpt that says the most of what the group says: the mean share of the group's other
    excerpts that use each of its words, plus up to one point for saying something at all (a quote
    of one or two words, "Nobody told me.", shows the kind but not the thought); ties go to the
    reviewed, most confident one. Linear in the group's words: candidates are its ``cap`` best-ranked
    excerpts, scored against the whole group."""
    from collections import Counter

    words = [set(w for w in TOKEN.findall(str(texts[i]).lower()) if len(w) > 2) for i in p]
    df = Counter(w for ws in words for w in ws)
    others = max(1, len(p) - 1)
    cand = np.argsort(rank[p], kind="stable")[:cap]
    score = [(sum(df[w] - 1 for w in words[j]) / (len(words[j]) or 1)) / others + min(len(words[j]), 8) / 8 for j in cand]
    return int(min(zip((-np.asarray(score)).tolist(), rank[p[cand]].tolist(), p[cand].tolist()))[2])


_CLAUSE_END = re.compile(r"(?<=[.!?…;:])\s+|\s+[—–-]\s+")


def _clause(text: str, matcher, kind: str, limit: int = QUOTE_CHARS) -> str:
    """The sentence or clause of ``text`` that voices the thought (its cue, else its question mark),
    verbatim; cut at a comma or a word boundary with "…" when longer than ``limit``."""
    text = " ".join(text.split())
    parts, at = [], 0
    for m in _CLAUSE_END.finditer(text):
        parts.append((at, text[at:m.start()]))
        at = m.end()
    parts.append((at, text[at:]))
    hit = None
    if matcher is not None:
        cue = next((m for m in matcher.find(text) if m.code_id == kind and not m.negated), None)
        if cue is not None:
            hit = next((i for i, (start, part) in enumerate(parts) if start <= cue.start < start + len(part) + 1), None)
    if hit is None:
        hit = next((i for i, (_, part) in enumerate(parts) if "?" in part or "¿" in part), 0)
    if len(parts[hit][1]) < 30 and len(parts) > 1:   # "…and if not?" says little alone: with the sentence before (or after)
        a = hit - 1 if hit > 0 else hit
        parts[a:a + 2] = [(parts[a][0], text[parts[a][0]:parts[a + 1][0] + len(parts[a + 1][1])])]
        hit = a
    start, clause = parts[hit]
    clause = clause.strip(QUOTE_MARKS)      # the map adds its own quotation marks
    lead = "…" if start > 0 else ""
    if len(clause) <= limit:
        return lead + clause + ("…" if hit < len(parts) - 1 and not clause.endswith(("?", ".", "!", "…")) else "")
    cut = clause.rfind(", ", 0, limit)
    if cut < limit // 2:
        cut = clause.rfind(" ", 0, limit)
    return lead + clause[:cut if cut > 0 else limit].rstrip(" ,;") + "…"


@lane("metrics")
def _metrics(f: _Frame) -> None:
    """CSAT / NPS / CES from the sources' metadata, per stage (one value per conversation)."""
    metrics = f.inputs.metrics.set_index("source_id").reindex(f.ex["source_id"])
    src, _ = pd.factorize(f.ex["source_id"])
    for k in METRICS:
        v = metrics[k].to_numpy(dtype=float)
        for s_idx, stage in enumerate(f.stage_ids):
            have = np.flatnonzero((f.stage_of == s_idx) & ~np.isnan(v))
            if not len(have):
                continue
            _, first = np.unique(src[have], return_index=True)
            per_source = v[have[first]]
            f.make(stage, "metrics", k, f"{k.upper()} {per_source.mean():.1f}", have,
                   f"mean over {len(per_source)} conversations (min {per_source.min():g}, max {per_source.max():g})",
                   float(per_source.mean()))


def _valence(f: _Frame) -> np.ndarray:
    """The effective emotion valence of each mapped excerpt (NaN: none)."""
    emo = f.rows_of("emotion")
    emo = emo[emo["value"].notna().to_numpy()]
    emo_pos = emo["pos"].to_numpy()
    first = np.r_[True, emo_pos[1:] != emo_pos[:-1]] if len(emo_pos) else np.zeros(0, bool)
    valence = np.full(f.n, np.nan)
    valence[emo_pos[first]] = emo["value"].to_numpy(dtype=float)[first]
    return valence


def _interval(draws: np.ndarray) -> tuple[float, float]:
    low, high = np.quantile(draws, [0.025, 0.975])
    return round(float(low), 4), round(float(high), 4)


def _curve(f: _Frame, valence: np.ndarray) -> list[CurvePoint]:
    """Per stage: shares of negative and positive excerpts and the mean valence of the emotional ones,
    each with a seeded bootstrap interval; then the largest drop and rise are marked."""
    rng = np.random.default_rng(f.settings.seed)
    band, n_boot = f.settings.neutral_band, f.settings.n_boot
    eids = f.ex["excerpt_id"].to_numpy(dtype=object)
    curve = []
    for s_idx, stage in enumerate(f.stage_ids):
        p_all = np.flatnonzero((f.stage_of == s_idx) & ~np.isnan(valence))
        v_all = valence[p_all]
        if len(v_all) == 0:
            curve.append(CurvePoint(stage, 0, None, None, None, ()))
            continue
        neg, pos = v_all < -band, v_all > band
        shares = {}
        if len(v_all) >= 2:     # resample excerpts: counts of (negative, neutral, positive) are multinomial
            k = np.array([neg.sum(), (~neg & ~pos).sum(), pos.sum()])
            draws = rng.multinomial(len(v_all), k / len(v_all), size=n_boot) / len(v_all)
            shares = {"negative": _interval(draws[:, 0]), "positive": _interval(draws[:, 2])}
        emotional = neg | pos
        p, v = p_all[emotional], v_all[emotional]
        mean = low = high = None
        if len(v):
            mean = round(float(v.mean()), 4)
            if len(v) >= 2:
                low, high = _interval(_bootstrap_means(v, n_boot, rng))
        p = p[np.argsort(f.rank[p], kind="stable")]
        curve.append(CurvePoint(stage, len(v), mean, low, high, tuple(eids[p].tolist()), n_all=len(v_all),
                                share_negative=round(float(neg.mean()), 4), share_positive=round(float(pos.mean()), 4),
                                negative_low=shares.get("negative", (None, None))[0],
                                negative_high=shares.get("negative", (None, None))[1],
                                positive_low=shares.get("positive", (None, None))[0],
                                positive_high=shares.get("positive", (None, None))[1]))
    return _moments(curve)


def _moments(curve: list[CurvePoint]) -> list[CurvePoint]:
    """Mark the largest drop and the largest rise of mean valence between consecutive stages that have one."""
    from dataclasses import replace

    have = [i for i, p in enumerate(curve) if p.mean is not None]
    steps = [(curve[b].mean - curve[a].mean, b) for a, b in zip(have, have[1:])]
    out = list(curve)
    if not steps:
        return out
    drop, rise = min(steps), max(steps)
    if drop[0] < 0:
        out[drop[1]] = replace(out[drop[1]], moment="drop", change=round(drop[0], 4))
    if rise[0] > 0:
        out[rise[1]] = replace(out[rise[1]], moment="rise", change=round(rise[0], 4))
    return out


def _checks(f: _Frame, valence: np.ndarray) -> dict:
    """The map against the data's own ratings: per conversation with a CSAT, its customer excerpts'
    mean valence (neutral ones count as they are) vs the CSAT (Spearman and Pearson, n)."""
    csat = f.inputs.metrics.set_index("source_id")["csat"].reindex(f.ex["source_id"]).to_numpy(dtype=float)
    ok = ~np.isnan(csat) & ~np.isnan(valence)
    if not ok.any():
        return {}
    per = pd.DataFrame({"source": f.ex["source_id"].to_numpy()[ok], "valence": valence[ok], "csat": csat[ok]}) \
        .groupby("source", sort=True).agg(valence=("valence", "mean"), csat=("csat", "first"))
    out = {"valence_vs_csat": {"n_conversations": int(len(per))}}
    if len(per) >= 3 and per["valence"].nunique() > 1 and per["csat"].nunique() > 1:
        out["valence_vs_csat"]["spearman"] = round(float(per["valence"].rank().corr(per["csat"].rank())), 3)
        out["valence_vs_csat"]["pearson"] = round(float(per["valence"].corr(per["csat"])), 3)
    return out


def _bootstrap_means(v: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``v``.

    Resampling n values from v is drawing counts of its distinct values from a multinomial, which is
    exact and costs n_boot × (distinct values) instead of n_boot × n (valences take few values).
    """
    levels, counts = np.unique(v, return_counts=True)
    draws = rng.multinomial(len(v), counts / len(v), size=n_boot)
    return draws @ levels / len(v)


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower().encode("ascii", "ignore").decode()).strip("-")
    if not s or s != text.lower():
        s = (s[:24] + "-" if s else "") + hashlib.sha1(text.encode()).hexdigest()[:6]
    return s


# ---------------------------------------------------------------------------------------- comparing
DIFFERENCE_COLUMNS = ["stage", "lane", "text", "code", "kind", "higher_in", "lower_in", "difference", "effect", "p_value",
                      "q_value", "reliable", "test", "summary", "n_higher", "n_lower", "evidence_ids"]


def compare_maps(maps: Sequence[JourneyMap], alpha: float = 0.05, min_count: int = 2) -> pd.DataFrame:
    """Differences between segments, tested, with the false discovery rate controlled across the table.

    The unit is the participant (a call-log conversation counts as one), since excerpts of one person
    are not independent. For each pair of maps, each stage and each *code* (feeling, pain point,
    touchpoint, people, backstage, opportunity, activity — never raw words): the share of the stage's
    participants who voiced it in each segment, Fisher's exact test, the difference in shares and
    Cohen's h as the effect size. For the emotion curve at each stage: the participants' mean valence,
    Mann–Whitney U, the difference in means and the rank-biserial correlation. Codes voiced by fewer
    than ``min_count`` participants in both segments together are not tested. Benjamini–Hochberg
    q-values across every test in the table; ``reliable`` is q < ``alpha``. Rows sorted reliable
    first, then by q.
    """
    from scipy.stats import fisher_exact, mannwhitneyu

    names = [m.name for m in maps]
    rows = []
    # per map: the participants at each stage, and per (stage, lane, code) the participants who voiced it
    people_at, voiced, claims_of = [], [], []
    for m in maps:
        part = dict(zip(m.evidence["excerpt_id"], m.evidence["participant"]))
        people_at.append(m.evidence.groupby("stage")["participant"].agg(lambda x: set(x)).to_dict())
        v, c_of = {}, {}
        for c in m.claims:
            if c.code:
                key = (c.stage, c.lane, c.code)
                v[key] = {part[i] for i in c.evidence}
                c_of[key] = c
        voiced.append(v)
        claims_of.append(c_of)
    stage_rank = {s: i for i, (s, _) in enumerate(maps[0].stages)}
    for a in range(len(maps)):
        for b in range(a + 1, len(maps)):
            for key in sorted(set(voiced[a]) | set(voiced[b]), key=lambda k: (stage_rank.get(k[0], 99), k[1], k[2])):
                stage = key[0]
                n_a, n_b = len(people_at[a].get(stage, ())), len(people_at[b].get(stage, ()))
                k_a, k_b = len(voiced[a].get(key, ())), len(voiced[b].get(key, ()))
                if n_a == 0 or n_b == 0 or k_a + k_b < min_count:
                    continue
                p = float(fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]])[1])
                s_a, s_b = k_a / n_a, k_b / n_b
                hi, lo = (a, b) if s_a >= s_b else (b, a)
                s_hi, s_lo = max(s_a, s_b), min(s_a, s_b)
                (k_hi, n_hi), (k_lo, n_lo) = ((k_a, n_a), (k_b, n_b)) if hi == a else ((k_b, n_b), (k_a, n_a))
                claim = claims_of[hi].get(key) or claims_of[lo].get(key)
                h = 2 * math.asin(math.sqrt(s_hi)) - 2 * math.asin(math.sqrt(s_lo))
                ev = [i for k in (hi, lo) for i in (claims_of[k][key].evidence if key in claims_of[k] else ())]
                rows.append({"stage": stage, "lane": key[1], "text": claim.text, "code": key[2], "kind": "claim",
                             "higher_in": names[hi], "lower_in": names[lo], "difference": round(s_hi - s_lo, 3),
                             "effect": round(h, 3), "p_value": p, "test": "Fisher's exact, participants",
                             "summary": f"{claim.text} ({stage}): {k_hi} of {n_hi} {names[hi]} participants ({s_hi:.0%}) vs "
                                        f"{k_lo} of {n_lo} {names[lo]} ({s_lo:.0%})",
                             "n_higher": n_hi, "n_lower": n_lo, "evidence_ids": ";".join(ev)})
            for stage, _ in maps[0].stages:
                va, vb = _participant_valence(maps[a], stage), _participant_valence(maps[b], stage)
                if len(va) < 2 or len(vb) < 2:
                    continue
                u, p = mannwhitneyu(va, vb, alternative="two-sided")
                r = 2 * u / (len(va) * len(vb)) - 1           # rank-biserial: P(a > b) - P(b > a)
                hi, lo = (a, b) if va.mean() >= vb.mean() else (b, a)
                m_hi, m_lo = (va.mean(), vb.mean()) if hi == a else (vb.mean(), va.mean())
                n_hi, n_lo = (len(va), len(vb)) if hi == a else (len(vb), len(va))
                pts = {k: next(pt for pt in maps[k].curve if pt.stage == stage) for k in (hi, lo)}
                rows.append({"stage": stage, "lane": "feeling", "text": "mean valence", "code": "", "kind": "curve",
                             "higher_in": names[hi], "lower_in": names[lo], "difference": round(float(m_hi - m_lo), 3),
                             "effect": round(abs(float(r)), 3), "p_value": float(p), "test": "Mann-Whitney U, participants",
                             "summary": f"{stage}: {names[hi]} feel better (mean valence {m_hi:+.2f}, {n_hi} participants) than "
                                        f"{names[lo]} ({m_lo:+.2f}, {n_lo})",
                             "n_higher": n_hi, "n_lower": n_lo, "evidence_ids": ";".join(pts[hi].evidence + pts[lo].evidence)})
    out = pd.DataFrame(rows, columns=[c for c in DIFFERENCE_COLUMNS if c not in ("q_value", "reliable")])
    if out.empty:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["reliable"] = out["q_value"] < alpha
    out["p_value"] = out["p_value"].round(6)
    out["q_value"] = out["q_value"].round(6)
    out["_r"] = out["stage"].map(stage_rank)
    out = out.sort_values(["reliable", "q_value", "p_value", "effect", "_r", "text", "higher_in"],
                          ascending=[False, True, True, False, True, True, True], kind="stable")
    return out.drop(columns="_r")[DIFFERENCE_COLUMNS].reset_index(drop=True)


def _participant_valence(m: JourneyMap, stage: str) -> np.ndarray:
    e = m.evidence[(m.evidence["stage"] == stage).to_numpy() & m.evidence["valence"].notna().to_numpy()]
    return e.groupby("participant", sort=True)["valence"].mean().to_numpy()


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


__all__ = ["Claim", "CurvePoint", "JourneyMap", "LANES", "LANE_LABELS", "LANE_BUILDERS", "MapInputs", "MapSettings",
           "benjamini_hochberg", "build_map", "compare_maps", "grouping", "load_map_inputs", "study_codebooks", "study_stage_model"]
