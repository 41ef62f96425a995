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

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .codebook import parse_codebook, resolve
from .errors import InputError
from .model import Codebook
from .store import Store

LANES = ("doing", "thinking", "feeling", "touchpoints", "people", "backstage", "pain_points", "opportunities", "metrics")
LANE_LABELS = {"doing": "Doing", "thinking": "Thinking", "feeling": "Feeling", "touchpoints": "Touchpoints / channels",
               "people": "People / departments", "backstage": "Backstage processes", "pain_points": "Pain points",
               "opportunities": "Opportunities", "metrics": "Metrics"}
_CODED_LANES = {"touchpoint": "touchpoints", "actor": "people", "backstage": "backstage", "opportunity": "opportunities"}
_CODEBOOKS = {"touchpoint": "touchpoints", "actor": "actors", "backstage": "backstage", "opportunity": "opportunities",
              "pain_point": "pain_points", "emotion": "emotions"}
VOICE = ("participant", "customer")
METRICS = ("csat", "nps", "ces")
_THOUGHT = re.compile(r"\?|¿|\b(?:think|thought|wonder(?:ed)?|expected|assumed|guess|not sure|didn't know|no idea|"
                      r"creo|creía|pensé|pensaba|supongo|no sabía|esperaba|me pregunto|ni idea)\b", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


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
        """The verbatim quotes behind a claim, with source, speaker and offsets."""
        ids = list(self.claim(claim_id).evidence)
        return self.evidence.set_index("excerpt_id").loc[ids].reset_index()


# ---------------------------------------------------------------------------------------- inputs
def effective_codings(codings: pd.DataFrame, include_suggested: bool = True) -> pd.DataFrame:
    """One decision per excerpt, dimension and code: humans first, rejections remove suggestions."""
    if codings.empty:
        return codings.assign(suggested=pd.Series(dtype=bool))
    human = codings["coder"].str.startswith("human:")
    accepted = codings[human & (codings["status"] == "accepted")]
    rejected = codings[human & (codings["status"] == "rejected")]
    decided = set(zip(accepted["excerpt_id"], accepted["dimension"]))
    refused = set(zip(rejected["excerpt_id"], rejected["dimension"], rejected["code_id"]))
    machine = codings[~human & (codings["status"] == "suggested")]
    if include_suggested and not machine.empty:
        keys = list(zip(machine["excerpt_id"].tolist(), machine["dimension"].tolist()))
        if decided or refused:
            keep = [k not in decided and (k[0], k[1], c) not in refused for k, c in zip(keys, machine["code_id"].tolist())]
        else:
            keep = [True] * len(keys)
        machine = machine[keep]
        # several machine coders on one dimension: the most confident wins (ties: coder name)
        machine = (machine.sort_values(["excerpt_id", "dimension", "confidence", "coder"], ascending=[True, True, False, True])
                   .drop_duplicates(["excerpt_id", "dimension"]))
    else:
        machine = machine.iloc[0:0]
    out = pd.concat([accepted.assign(suggested=False), machine.assign(suggested=True)], ignore_index=True)
    return out.sort_values(["excerpt_id", "dimension", "code_id"]).reset_index(drop=True)


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
    """The journey map of a study (optionally one segment) for a stage model."""
    model = study_stage_model(store, stage_model)
    stages = [(c.code_id, c.label) for c in model.ordered]
    stage_ids = [s for s, _ in stages]
    ex = store.excerpts()
    ex = ex[ex["role"].isin(VOICE)].copy()
    segments = sorted(ex["segment"].dropna().unique().tolist())
    if segment is not None:
        if segment not in segments:
            raise InputError(f"No segment {segment!r} in this study; it has: {', '.join(segments) or '(none)'}.")
        ex = ex[ex["segment"] == segment]
    ex["participant_key"] = _participant(ex)
    eff = effective_codings(store.codings(), include_suggested)
    eff = eff[eff["excerpt_id"].isin(set(ex["excerpt_id"]))]
    st = eff[eff["dimension"] == "stage"]
    notes = []
    off_model = st[~st["code_id"].isin(stage_ids)]
    if len(off_model):
        notes.append(f"{off_model['excerpt_id'].nunique()} excerpts coded with stages outside {model.name} "
                     f"({', '.join(sorted(off_model['code_id'].unique())[:5])}) are not on this map.")
    st = st[st["code_id"].isin(stage_ids)].drop_duplicates("excerpt_id")
    stage_of = dict(zip(st["excerpt_id"].tolist(), st["code_id"].tolist()))
    ex = ex[ex["excerpt_id"].isin(stage_of)].copy()
    ex["stage"] = ex["excerpt_id"].map(stage_of)
    if ex.empty:
        raise InputError("No coded customer excerpts to map" + (f" in segment {segment!r}" if segment else "") +
                         ": code the study first (`workbench code --study STUDY`), or include suggested codings.")
    eff = eff[eff["excerpt_id"].isin(stage_of)]
    conf = dict(zip(st["excerpt_id"].tolist(), st["confidence"].tolist()))
    # evidence order inside a claim: reviewed first, then the most confident, then id
    suggested_ids = set(eff.loc[eff["suggested"], "excerpt_id"])
    pkey = dict(zip(ex["excerpt_id"].tolist(), ex["participant_key"].tolist()))
    stage_rank = {s: i for i, s in enumerate(stage_ids)}

    claims: list[Claim] = []

    def make(stage: str, lane: str, key: str, text: str, ids: Sequence[str], detail: str = "",
             value: float | None = None) -> None:
        ids = sorted(set(ids), key=lambda i: (i in suggested_ids, -conf.get(i, 0.0), i))
        if not ids:
            return
        share = len(suggested_ids.intersection(ids)) / len(ids)
        claims.append(Claim(f"{stage}.{lane}.{_slug(key)}", stage, lane, text, tuple(ids), len(ids),
                            len({pkey[i] for i in ids}), detail, value, share))

    # coded lanes: feeling, pain points, touchpoints, people, backstage, opportunities
    books = {dim: resolve(name) for dim, name in _CODEBOOKS.items()}
    labels = {dim: {c.code_id: c for c in cb.codes} for dim, cb in books.items()}
    ex_stage = ex.set_index("excerpt_id")["stage"]
    for dim, group in eff[eff["dimension"] != "stage"].groupby("dimension", sort=True):
        group = group.assign(stage=group["excerpt_id"].map(ex_stage))
        for (stage, code), rows in group.groupby(["stage", "code_id"], sort=True):
            code_def = labels.get(dim, {}).get(code)
            label = code_def.label if code_def else code
            if dim == "emotion":
                if code == "neutral":
                    continue
                family = code_def.attributes.get("family", "") if code_def else ""
                val = float(rows["value"].mean()) if rows["value"].notna().any() else None
                make(stage, "feeling", code, label, rows["excerpt_id"].tolist(), f"{family} family, valence {val:+.2f}" if val is not None
                     else f"{family} family", val)
            elif dim == "pain_point":
                if code == "none":
                    continue
                sev = rows["value"].dropna()
                detail = f"severity {sev.mean():.1f} (max {int(sev.max())})" if len(sev) else ""
                make(stage, "pain_points", code, label, rows["excerpt_id"].tolist(), detail, float(sev.mean()) if len(sev) else None)
            elif dim in _CODED_LANES:
                make(stage, _CODED_LANES[dim], code, label, rows["excerpt_id"].tolist())
    # doing / thinking: the phrases most distinctive of each stage
    thought = ex["text"].str.contains(_THOUGHT)
    for lane, mask in (("thinking", thought), ("doing", ~thought)):
        for stage, phrase, ids in _distinctive_phrases(ex[mask], stage_ids, top_phrases):
            make(stage, lane, phrase, phrase, ids)
    # metrics from the sources' metadata (CSAT / NPS / CES), per stage
    metrics = _meta_metrics(store)
    with_m = ex[["excerpt_id", "source_id", "stage"]].merge(metrics, on="source_id")
    for stage, rows in with_m.groupby("stage", sort=True):
        for k in METRICS:
            have = rows[rows[k].notna()]
            if have.empty:
                continue
            per_source = have.drop_duplicates("source_id")[k]
            make(stage, "metrics", k, f"{k.upper()} {per_source.mean():.1f}", have["excerpt_id"].tolist(),
                 f"mean over {len(per_source)} conversations (min {per_source.min():g}, max {per_source.max():g})",
                 float(per_source.mean()))
    lane_rank = {lane: i for i, lane in enumerate(LANES)}
    claims.sort(key=lambda c: (stage_rank[c.stage], lane_rank[c.lane], -c.n_participants, -c.n_excerpts, c.text))

    # emotion curve: mean valence per stage with a seeded bootstrap interval
    emo = eff[(eff["dimension"] == "emotion") & eff["value"].notna()].drop_duplicates("excerpt_id")
    emo = emo.assign(stage=emo["excerpt_id"].map(ex_stage))
    rng = np.random.default_rng(seed)
    curve = []
    for stage in stage_ids:
        rows = emo[emo["stage"] == stage].sort_values("excerpt_id")
        v = rows["value"].to_numpy(dtype=float)
        if len(v) == 0:
            curve.append(CurvePoint(stage, 0, None, None, None, ()))
            continue
        low = high = None
        if len(v) >= 2:
            means = rng.choice(v, size=(n_boot, len(v)), replace=True).mean(axis=1)
            low, high = (round(float(x), 4) for x in np.quantile(means, [0.025, 0.975]))
        ids = sorted(rows["excerpt_id"], key=lambda i: (i in suggested_ids, -conf.get(i, 0.0), i))
        curve.append(CurvePoint(stage, len(v), round(float(v.mean()), 4), low, high, tuple(ids)))

    evidence = ex[["excerpt_id", "source_id", "source_name", "speaker", "participant_key", "segment", "stage", "start",
                   "end", "text"]].rename(columns={"text": "quote", "participant_key": "participant"})
    evidence = evidence.sort_values("excerpt_id").reset_index(drop=True)
    return JourneyMap(
        study=store.info().get("name", store.path.stem), stage_model=model.name, stage_model_version=model.version,
        stages=stages, segment=segment, claims=claims, curve=curve, evidence=evidence,
        settings={"stage_model": model.name, "segment": segment, "include_suggested": include_suggested, "seed": seed,
                  "bootstrap_resamples": n_boot, "top_phrases": top_phrases},
        coders=sorted(eff["coder"].unique().tolist()),
        codebooks={model.name: model.version, **{cb.name: cb.version for cb in books.values()}},
        notes=notes)


_STOP: frozenset[str] | None = None


def _stop_words() -> frozenset[str]:
    global _STOP
    if _STOP is None:
        from spacy.lang.en.stop_words import STOP_WORDS as EN
        from spacy.lang.es.stop_words import STOP_WORDS as ES
        extra = {"yeah", "okay", "ok", "um", "uh", "eh", "mm", "vale", "pues", "bueno", "hola", "gracias", "thanks",
                 "thank", "really", "just", "like", "sí", "si", "mire", "oye", "laughs", "risas", "bit", "lot", "thing",
                 "things", "cosa", "cosas", "i'm", "it's", "don't", "didn't", "i'd", "that's", "there's", "can't",
                 "sort", "kind", "know", "think", "thought", "said", "told", "dijeron", "creo", "pensé", "mean", "needed",
                 "miré", "dije", "went", "got", "get", "going", "want", "wanted", "need", "quería", "tenía", "puedo"}
        _STOP = frozenset(w.lower() for w in EN | ES | extra)
    return _STOP


def _distinctive_phrases(ex: pd.DataFrame, stage_ids: Sequence[str], top: int) -> list[tuple[str, str, list[str]]]:
    """Per stage, the words and two-word phrases found in the most excerpts there relative to elsewhere.

    A phrase needs >= 2 excerpts from >= 2 participants in the stage. Brand names and @handles are
    not phrases (capitalised tokens that are not sentence-initial count as names).
    """
    stop = _stop_words()
    texts = [re.sub(r"@\w+|https?://\S+", " ", t) for t in ex["text"].tolist()]
    # names: words written capitalised in mid-sentence most of the times they occur
    capital: dict[str, list[int]] = {}
    for text in texts:
        for sentence in re.split(r"(?<=[.!?¿¡])\s+|\n", text):
            for k, tok in enumerate(_TOKEN.findall(sentence)):
                if k:
                    capital.setdefault(tok.lower(), [0, 0])[tok[0].isupper()] += 1
    names = {w for w, (low, up) in capital.items() if up > low}
    docs: dict[str, set[str]] = {}
    for eid, text in zip(ex["excerpt_id"].tolist(), texts):
        words = [t.lower() for t in _TOKEN.findall(text)]
        keep = [len(w) >= 3 and w not in stop and w not in names for w in words]
        terms = {w for w, k in zip(words, keep) if k}
        terms |= {f"{a} {b}" for (a, ka), (b, kb) in zip(zip(words, keep), zip(words[1:], keep[1:])) if ka and kb}
        docs[eid] = terms
    stage = dict(zip(ex["excerpt_id"].tolist(), ex["stage"].tolist()))
    part = dict(zip(ex["excerpt_id"].tolist(), ex["participant_key"].tolist()))
    total: dict[str, int] = {}
    per: dict[tuple[str, str], list[str]] = {}
    for eid, terms in docs.items():
        for t in terms:
            total[t] = total.get(t, 0) + 1
            per.setdefault((stage[eid], t), []).append(eid)
    n_all = max(1, len(docs))
    out = []
    for s in stage_ids:
        n_s = sum(1 for e in docs if stage[e] == s)
        if n_s == 0:
            continue
        scored = []
        for (st, term), ids in per.items():
            if st != s or len(ids) < 2 or len({part[i] for i in ids}) < 2:
                continue
            lift = (len(ids) / n_s) / (total[term] / n_all)
            scored.append((-(lift * math.log1p(len(ids)) * (1.3 if " " in term else 1.0)), term, ids))
        scored.sort()
        chosen: list[tuple[str, str, list[str]]] = []
        for _, term, ids in scored:
            if any(term in c or c in term for _, c, _ in chosen):  # "selfie" vs "selfie check": keep one
                continue
            chosen.append((s, term, sorted(ids)))
            if len(chosen) == top:
                break
        out.extend(chosen)
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


__all__ = ["Claim", "CurvePoint", "JourneyMap", "LANES", "LANE_LABELS", "build_map", "compare_maps", "effective_codings",
           "study_stage_model"]
