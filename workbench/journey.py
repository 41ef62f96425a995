"""Evidence-linked journey maps: stages × lanes of claims, each claim tied to the excerpts behind it.

    >>> jm = build_map(store, segment="young_professional")          # doctest: +SKIP
    >>> jm.claims[0].text, jm.claims[0].evidence[:2]                  # doctest: +SKIP
    ('Waiting / delay', ('S1a2b3c4d5e6-00004', 'S1a2b3c4d5e6-00009'))

A map is built from a study's *effective* codings: per excerpt and dimension, a human decision
(accepted) wins; a human rejection removes the machine suggestion it rejected; otherwise the
machine suggestion counts when ``include_suggested`` (and the claim says how much of its
support is still unreviewed). Only the customer's own voice is mapped (participants, customers).

Lanes, per stage:

* **doing** / **thinking** — the phrases most distinctive of the stage (what customers talk about
  there), split by whether the excerpts voice a thought or question ("I thought…", "¿…?");
* **feeling** — emotions (fine label, with family and valence) and the emotion curve;
* **touchpoints**, **people**, **backstage**, **opportunities** — coded codes;
* **pain points** — category, mean and maximum severity, frequency;
* **metrics** — CSAT / NPS / CES from the sources' metadata, where the data has them.

Every claim counts its excerpts and distinct participants (a call-log conversation counts as a
participant); a claim from one participant is marked *thin*. Same study + same settings →
identical map (claims, order, ids, bootstrap intervals).
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .codebook import DIMENSION_CODEBOOKS, parse_codebook, resolve
from .decisions import effective_rows
from .errors import InputError
from .model import VOICE_ROLES, Codebook
from .store import Store
from .text import HANDLES_URLS, SENTENCE_INITIAL, TOKEN, names_from_forms, stop_words

LANES = ("doing", "thinking", "feeling", "touchpoints", "people", "backstage", "pain_points", "opportunities", "metrics")
LANE_LABELS = {"doing": "Doing", "thinking": "Thinking", "feeling": "Feeling", "touchpoints": "Touchpoints / channels",
               "people": "People / departments", "backstage": "Backstage processes", "pain_points": "Pain points",
               "opportunities": "Opportunities", "metrics": "Metrics"}
_CODED_LANES = {"touchpoint": "touchpoints", "actor": "people", "backstage": "backstage", "opportunity": "opportunities"}
METRICS = ("csat", "nps", "ces")
_THOUGHT = re.compile(r"[?¿]|\b(?:think|thought|wonder(?:ed)?|expected|assumed|guess|not sure|didn't know|no idea|"
                      r"creo|creía|pensé|pensaba|supongo|no sabía|esperaba|me pregunto|ni idea)\b")   # on lower-cased text


@dataclass(frozen=True)
class Claim:
    claim_id: str
    stage: str
    lane: str
    text: str
    evidence: tuple[str, ...]          # excerpt ids, most confident first
    n_excerpts: int
    n_participants: int
    detail: str = ""                   # e.g. "anger family, valence −0.40" or "severity 2.3 (max 3)"
    value: float | None = None         # severity (pain points), valence (feeling), mean (metrics)
    unreviewed: float = 0.0            # share of the evidence that is machine-suggested, not yet reviewed

    @property
    def thin(self) -> bool:
        return self.n_participants <= 1


@dataclass(frozen=True)
class CurvePoint:
    stage: str
    n: int
    mean: float | None
    low: float | None
    high: float | None
    evidence: tuple[str, ...]


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
    _row_of: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    def claims_frame(self) -> pd.DataFrame:
        rows = [{"claim_id": c.claim_id, "stage": c.stage, "lane": c.lane, "text": c.text, "detail": c.detail,
                 "n_excerpts": c.n_excerpts, "n_participants": c.n_participants, "thin": c.thin,
                 "unreviewed": round(c.unreviewed, 3), "evidence_ids": ";".join(c.evidence)} for c in self.claims]
        return pd.DataFrame(rows, columns=["claim_id", "stage", "lane", "text", "detail", "n_excerpts",
                                           "n_participants", "thin", "unreviewed", "evidence_ids"])

    def curve_frame(self) -> pd.DataFrame:
        labels = dict(self.stages)
        return pd.DataFrame([{**asdict(p), "label": labels[p.stage], "evidence": ";".join(p.evidence)} for p in self.curve])

    def claim(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.claim_id == claim_id:
                return c
        raise KeyError(claim_id)

    def quotes(self, claim_id: str) -> pd.DataFrame:
        """The verbatim quotes behind a claim, with source, speaker and offsets (most telling first)."""
        return self.evidence_rows(self.claim(claim_id).evidence)

    def evidence_rows(self, excerpt_ids: Sequence[str]) -> pd.DataFrame:
        """Rows of :attr:`evidence` for these excerpt ids, in the order given."""
        if self._row_of is None:
            self._row_of = dict(zip(self.evidence["excerpt_id"].tolist(), range(len(self.evidence))))
        return self.evidence.iloc[[self._row_of[i] for i in excerpt_ids]].reset_index(drop=True)

    def quote(self, excerpt_id: str) -> str:
        """The verbatim text of one mapped excerpt."""
        if self._row_of is None:
            self._row_of = dict(zip(self.evidence["excerpt_id"].tolist(), range(len(self.evidence))))
        return str(self.evidence["quote"].iat[self._row_of[excerpt_id]])


# ---------------------------------------------------------------------------------------- inputs
def study_stage_model(store: Store, name: str | None = None) -> Codebook:
    """The stage model: by name/path, else the one the study was coded with (stored in the study)."""
    if name:
        return resolve(name)
    info = store.info()
    if "coding.stage_model_yaml" in info:
        return parse_codebook(info["coding.stage_model_yaml"], f"<stage model stored in {store.path.name}>")
    raise InputError(f"{store.path} has no coded stages yet: run `workbench code --study {store.path}` first, "
                     "or pass --stage-model.")


def _participant(ex: pd.DataFrame) -> pd.Series:
    p = ex["participant"].fillna("").astype(str)
    return p.where(p != "", ex["source_id"])


def _meta_metrics(store: Store) -> pd.DataFrame:
    src = store.sources()[["source_id", "meta"]]
    rows = []
    for sid, meta in zip(src["source_id"], src["meta"]):
        try:
            m = json.loads(meta) if meta else {}
        except (TypeError, ValueError):
            m = {}
        row = {"source_id": sid}
        for k in METRICS:
            try:
                row[k] = float(m[k]) if m.get(k) not in (None, "") else math.nan
            except (TypeError, ValueError):
                row[k] = math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["source_id", *METRICS])


# ---------------------------------------------------------------------------------------- building
def build_map(store: Store, stage_model: str | None = None, segment: str | None = None,
              include_suggested: bool = True, seed: int = 0, n_boot: int = 1000, top_phrases: int = 4) -> JourneyMap:
    """The journey map of a study (optionally one segment) for a stage model.

    Works on integer positions (excerpts sorted by id), so large studies map quickly
    (``benchmarks/report.py`` measures it).
    """
    with _no_gc(), store.snapshot():   # one moment of the study; loading builds ~10^6 acyclic objects (no GC rescans)
        return _build_map(store, stage_model, segment, include_suggested, seed, n_boot, top_phrases)


@contextlib.contextmanager
def _no_gc():
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _build_map(store: Store, stage_model: str | None, segment: str | None, include_suggested: bool, seed: int,
               n_boot: int, top_phrases: int) -> JourneyMap:
    model = study_stage_model(store, stage_model)
    stages = [(c.code_id, c.label) for c in model.ordered]
    stage_ids = [s for s, _ in stages]
    ex = store.excerpts(roles=VOICE_ROLES, by_id=True)
    segments = sorted(ex["segment"].dropna().unique().tolist())
    if segment is not None:
        if segment not in segments:
            raise InputError(f"No segment {segment!r} in this study; it has: {', '.join(segments) or '(none)'}.")
        ex = ex[ex["segment"] == segment]
    ex = ex.reset_index(drop=True)
    cod = store.decisions()
    pos = pd.Index(ex["excerpt_id"]).get_indexer(cod["excerpt_id"])
    mapped = pos >= 0
    cod, pos = cod[mapped].reset_index(drop=True), pos[mapped]
    rows, suggested = effective_rows(pos, cod, include_suggested)
    eff = cod.iloc[rows].reset_index(drop=True)
    eff["suggested"] = suggested
    eff["pos"] = epos = pos[rows]

    # the stage of each excerpt (the first effective stage coding in this stage model)
    is_stage = (eff["dimension"] == "stage").to_numpy()
    stage_idx = pd.Index(stage_ids).get_indexer(eff["code_id"])                   # -1: not in this model
    notes = []
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
                         ": code the study first (`workbench code --study STUDY`), or include suggested codings.")
    new_pos = np.cumsum(keep) - 1
    ex = ex[keep].reset_index(drop=True)
    stage_of, conf_of = stage_of[keep], conf_of[keep]
    ex["stage"] = np.asarray(stage_ids, dtype=object)[stage_of]
    ex["participant_key"] = _participant(ex)
    eff = eff[keep[epos]].reset_index(drop=True)
    eff["pos"] = new_pos[epos[keep[epos]]]
    n = len(ex)

    # evidence order inside a claim: reviewed first, then the most confident, then id
    eids = ex["excerpt_id"].to_numpy(dtype=object)
    unreviewed = np.zeros(n, bool)
    unreviewed[eff.loc[eff["suggested"], "pos"].to_numpy()] = True
    rank = np.empty(n, np.int64)
    rank[np.lexsort((np.arange(n), -conf_of, unreviewed))] = np.arange(n)
    person, _ = pd.factorize(ex["participant_key"])
    stage_rank = {s: i for i, s in enumerate(stage_ids)}

    claims: list[Claim] = []

    def make(stage: str, lane: str, key: str, text: str, positions: np.ndarray, detail: str = "",
             value: float | None = None) -> None:
        p = np.unique(positions)
        if not len(p):
            return
        p = p[np.argsort(rank[p], kind="stable")]
        claims.append(Claim(f"{stage}.{lane}.{_slug(key)}", stage, lane, text, tuple(eids[p].tolist()), len(p),
                            len(np.unique(person[p])), detail, value, float(unreviewed[p].mean())))

    # coded lanes: feeling, pain points, touchpoints, people, backstage, opportunities
    books = {dim: resolve(name) for dim, name in DIMENSION_CODEBOOKS.items()}
    labels = {dim: {c.code_id: c for c in cb.codes} for dim, cb in books.items()}
    coded = eff[~eff["dimension"].isin(["stage"]).to_numpy()]
    coded_pos = coded["pos"].to_numpy()
    coded_val = coded["value"].to_numpy(dtype=float)
    groups = pd.DataFrame({"dimension": coded["dimension"].to_numpy(dtype=object), "stage": stage_of[coded_pos],
                           "code_id": coded["code_id"].to_numpy(dtype=object)}).groupby(["dimension", "stage", "code_id"],
                                                                                      sort=True).indices
    for (dim, s_idx, code), rows in groups.items():
        stage = stage_ids[s_idx]
        code_def = labels.get(dim, {}).get(code)
        label = code_def.label if code_def else code
        positions, values = coded_pos[rows], coded_val[rows]
        values = values[~np.isnan(values)]
        if dim == "emotion":
            if code == "neutral":
                continue
            family = code_def.attributes.get("family", "") if code_def else ""
            val = float(values.mean()) if len(values) else None
            make(stage, "feeling", code, label, positions,
                 f"{family} family, valence {val:+.2f}" if val is not None else f"{family} family", val)
        elif dim == "pain_point":
            if code == "none":
                continue
            detail = f"severity {values.mean():.1f} (max {int(values.max())})" if len(values) else ""
            make(stage, "pain_points", code, label, positions, detail, float(values.mean()) if len(values) else None)
        elif dim in _CODED_LANES:
            make(stage, _CODED_LANES[dim], code, label, positions)
    # doing / thinking: the phrases most distinctive of each stage
    texts = ex["text"].tolist()
    thought = np.fromiter((_THOUGHT.search(t.lower()) is not None for t in texts), bool, n)
    for lane, mask in (("thinking", thought), ("doing", ~thought)):
        for s_idx, phrase, positions in _distinctive_phrases(texts, np.flatnonzero(mask), stage_of, person,
                                                             len(stage_ids), top_phrases):
            make(stage_ids[s_idx], lane, phrase, phrase, positions)
    # metrics from the sources' metadata (CSAT / NPS / CES), per stage
    metrics = _meta_metrics(store).set_index("source_id").reindex(ex["source_id"])
    src, _ = pd.factorize(ex["source_id"])
    for k in METRICS:
        v = metrics[k].to_numpy(dtype=float)
        for s_idx, stage in enumerate(stage_ids):
            have = np.flatnonzero((stage_of == s_idx) & ~np.isnan(v))
            if not len(have):
                continue
            _, first = np.unique(src[have], return_index=True)
            per_source = v[have[first]]
            make(stage, "metrics", k, f"{k.upper()} {per_source.mean():.1f}", have,
                 f"mean over {len(per_source)} conversations (min {per_source.min():g}, max {per_source.max():g})",
                 float(per_source.mean()))
    lane_rank = {lane: i for i, lane in enumerate(LANES)}
    claims.sort(key=lambda c: (stage_rank[c.stage], lane_rank[c.lane], -c.n_participants, -c.n_excerpts, c.text))

    # emotion curve: mean valence per stage with a seeded bootstrap interval
    emo = eff[(eff["dimension"] == "emotion").to_numpy() & eff["value"].notna().to_numpy()]
    emo_pos = emo["pos"].to_numpy()
    first = np.r_[True, emo_pos[1:] != emo_pos[:-1]] if len(emo_pos) else np.zeros(0, bool)
    valence = np.full(n, np.nan)
    valence[emo_pos[first]] = emo["value"].to_numpy(dtype=float)[first]
    rng = np.random.default_rng(seed)
    curve = []
    for s_idx, stage in enumerate(stage_ids):
        p = np.flatnonzero((stage_of == s_idx) & ~np.isnan(valence))
        v = valence[p]
        if len(v) == 0:
            curve.append(CurvePoint(stage, 0, None, None, None, ()))
            continue
        low = high = None
        if len(v) >= 2:
            low, high = (round(float(x), 4) for x in np.quantile(_bootstrap_means(v, n_boot, rng), [0.025, 0.975]))
        p = p[np.argsort(rank[p], kind="stable")]
        curve.append(CurvePoint(stage, len(v), round(float(v.mean()), 4), low, high, tuple(eids[p].tolist())))

    evidence = ex[["excerpt_id", "source_id", "source_name", "speaker", "participant_key", "segment", "stage", "start",
                   "end", "text"]].rename(columns={"text": "quote", "participant_key": "participant"})
    return JourneyMap(
        study=store.info().get("name", store.path.stem), stage_model=model.name, stage_model_version=model.version,
        stages=stages, segment=segment, claims=claims, curve=curve, evidence=evidence,
        settings={"stage_model": model.name, "segment": segment, "include_suggested": include_suggested, "seed": seed,
                  "bootstrap_resamples": n_boot, "top_phrases": top_phrases},
        coders=sorted(eff["coder"].unique().tolist()),
        codebooks={model.name: model.version, **{cb.name: cb.version for cb in books.values()}},
        notes=notes)


def _bootstrap_means(v: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``v``.

    Resampling n values from v is drawing counts of its distinct values from a multinomial, which is
    exact and costs n_boot × (distinct values) instead of n_boot × n (valences take few values).
    """
    levels, counts = np.unique(v, return_counts=True)
    draws = rng.multinomial(len(v), counts / len(v), size=n_boot)
    return draws @ levels / len(v)


def _distinctive_phrases(texts: Sequence[str], rows: np.ndarray, stage_of: np.ndarray, person: np.ndarray,
                         n_stages: int, top: int) -> list[tuple[int, str, np.ndarray]]:
    """Per stage, the words and two-word phrases found in the most excerpts there relative to elsewhere.

    ``rows`` picks the excerpts (positions into ``texts``, ``stage_of`` and ``person``). Returns
    ``(stage index, phrase, positions)``. A phrase needs >= 2 excerpts from >= 2 participants in the
    stage. Stop words (EN + ES) are not phrases, and neither are names, @handles, #hashtags and URLs
    (see :mod:`workbench.text`). Two-word phrases join
    adjacent kept words only. Tokenising runs once over the joined texts and counting is done on
    integer ids, so 100,000 excerpts take well under a second.
    """
    if not len(rows):
        return []
    sep, body = "qxsepxq", "\n".join(texts[i] for i in rows).lower()
    while sep in body:
        sep += "q"
    joined = HANDLES_URLS.sub(" ", "".join(f"\n{sep}\n{texts[i]}" for i in rows))
    tokens = np.array(TOKEN.findall(joined), dtype=object)
    forms, form_ids = pd.factorize(tokens)
    names = names_from_forms(form_ids.tolist(), np.bincount(forms, minlength=len(form_ids)).tolist(),
                             pd.Series(SENTENCE_INITIAL.findall(joined), dtype=object).value_counts())
    lower_forms = [f.lower() for f in form_ids.tolist()]
    vocab_of_form, vocab = pd.factorize(pd.Series(lower_forms, dtype=object))
    tok = vocab_of_form[forms]
    vocab = vocab.tolist()
    V = len(vocab)
    stop = stop_words()
    is_sep = np.array([w == sep for w in vocab])[tok]
    keep_word = np.array([len(w) >= 3 and w not in stop and w not in names and w != sep for w in vocab], bool)
    doc = np.cumsum(is_sep) - 1                                     # each excerpt starts with the separator
    kept = keep_word[tok]
    uni = np.flatnonzero(kept)
    bi = np.flatnonzero(kept[:-1] & kept[1:])                       # the separator is never kept: no cross-excerpt pairs
    term = np.r_[tok[uni].astype(np.int64), V + tok[bi].astype(np.int64) * V + tok[bi + 1]]
    term_doc = np.r_[doc[uni], doc[bi]]
    if not len(term):
        return []
    t_c, t_u = pd.factorize(term)
    T, D = len(t_u), len(rows)
    pair = np.unique(t_c.astype(np.int64) * D + term_doc)           # each (term, excerpt) once: document frequency
    p_term, p_doc = pair // D, pair % D
    p_stage = stage_of[rows][p_doc]
    total = np.bincount(p_term, minlength=T)
    st_term = p_stage.astype(np.int64) * T + p_term
    count = np.bincount(st_term, minlength=n_stages * T)
    people = np.bincount(np.unique(st_term * (int(person.max()) + 1) + person[rows][p_doc]) // (int(person.max()) + 1),
                         minlength=n_stages * T)
    n_stage = np.bincount(stage_of[rows], minlength=n_stages)

    def text_of(t: int) -> str:
        raw = int(t_u[t])
        if raw < V:
            return vocab[raw]
        a, b = divmod(raw - V, V)
        return f"{vocab[a]} {vocab[b]}"

    out = []
    for s in range(n_stages):
        if n_stage[s] == 0:
            continue
        c_s, p_s = count[s * T:(s + 1) * T], people[s * T:(s + 1) * T]
        cand = np.flatnonzero((c_s >= 2) & (p_s >= 2))
        if not len(cand):
            continue
        lift = (c_s[cand] / n_stage[s]) / (total[cand] / D)
        bigram = t_u[cand] >= V
        score = lift * np.log1p(c_s[cand]) * np.where(bigram, 1.3, 1.0)
        scored = sorted(zip((-score).tolist(), (text_of(t) for t in cand.tolist()), cand.tolist()))
        chosen: list[tuple[str, int]] = []
        for _, text, t in scored:
            if any(text in c or c in text for c, _ in chosen):      # "selfie" vs "selfie check": keep one
                continue
            chosen.append((text, t))
            if len(chosen) == top:
                break
        for text, t in chosen:
            docs = p_doc[(p_term == t) & (p_stage == s)]
            out.append((s, text, rows[docs]))
    return out


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower().encode("ascii", "ignore").decode()).strip("-")
    if not s or s != text.lower():
        s = (s[:24] + "-" if s else "") + hashlib.sha1(text.encode()).hexdigest()[:6]
    return s


# ---------------------------------------------------------------------------------------- comparing
def compare_maps(maps: Sequence[JourneyMap], min_diff: float = 0.15, min_participants: int = 2) -> pd.DataFrame:
    """Differences between segments that the evidence supports.

    A claim differs when the share of its stage's excerpts it covers differs by >= ``min_diff``
    between two maps and the higher side rests on >= ``min_participants`` participants. The emotion
    curve differs at a stage when the two bootstrap intervals do not overlap.
    """
    rows = []
    names = [m.segment or "all" for m in maps]
    stage_n = [m.evidence.groupby("stage").size().to_dict() for m in maps]
    keys: dict[tuple[str, str, str], list[Claim | None]] = {}
    for k, m in enumerate(maps):
        for c in m.claims:
            if c.lane in ("metrics",):
                continue
            keys.setdefault((c.stage, c.lane, c.text), [None] * len(maps))[k] = c
    for (stage, lane, text), cs in keys.items():
        shares = [(c.n_excerpts / stage_n[k].get(stage, 1)) if c else 0.0 for k, c in enumerate(cs)]
        hi = max(range(len(maps)), key=lambda k: (shares[k], -k))
        lo = min(range(len(maps)), key=lambda k: (shares[k], k))
        c_hi = cs[hi]
        if c_hi is None or shares[hi] - shares[lo] < min_diff or c_hi.n_participants < min_participants:
            continue
        rows.append({"stage": stage, "lane": lane, "text": text, "kind": "claim",
                     "higher_in": names[hi], "lower_in": names[lo],
                     **{f"share_{n}": round(s, 3) for n, s in zip(names, shares)},
                     "difference": round(shares[hi] - shares[lo], 3),
                     "summary": f"{text}: {shares[hi]:.0%} of {names[hi]}'s {stage} excerpts vs {shares[lo]:.0%} of {names[lo]}'s",
                     "evidence_ids": ";".join(c_hi.evidence)})
    for i, stage in enumerate(s for s, _ in maps[0].stages):
        pts = [m.curve[i] for m in maps]
        for a in range(len(maps)):
            for b in range(a + 1, len(maps)):
                pa, pb = pts[a], pts[b]
                if None in (pa.low, pa.high, pb.low, pb.high):
                    continue
                if pa.high < pb.low or pb.high < pa.low:
                    hi, lo = (a, b) if pa.mean > pb.mean else (b, a)
                    rows.append({"stage": stage, "lane": "feeling", "text": "mean valence", "kind": "curve",
                                 "higher_in": names[hi], "lower_in": names[lo], "difference": round(abs(pa.mean - pb.mean), 3),
                                 "summary": f"{stage}: {names[hi]} feel better ({pts[hi].mean:+.2f}, n={pts[hi].n}) than "
                                            f"{names[lo]} ({pts[lo].mean:+.2f}, n={pts[lo].n}); 95% intervals do not overlap",
                                 "evidence_ids": ";".join(pts[hi].evidence + pts[lo].evidence)})
    stage_rank = {s: i for i, (s, _) in enumerate(maps[0].stages)}
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=["stage", "lane", "text", "kind", "higher_in", "lower_in", "difference", "summary",
                                     "evidence_ids"])
    out["_r"] = out["stage"].map(stage_rank)
    return out.sort_values(["_r", "difference", "text"], ascending=[True, False, True]).drop(columns="_r").reset_index(drop=True)


__all__ = ["Claim", "CurvePoint", "JourneyMap", "LANES", "LANE_LABELS", "build_map", "compare_maps", "study_stage_model"]
