"""Map snapshots, what changed between two of them, and goals measured in each.

A snapshot is a map stored in its study under a name (table ``map_snapshots``): its claims with
their evidence ids, the curve, the group differences, the settings, codebook and coder versions,
the study's source list and the goals' measures. :func:`diff_snapshots` says which claims
appeared, disappeared, grew or shrank between two snapshots — of one study over time (sources
added, recoding), or of two studies that share a stage model (before and after a redesign) — and
calls a change *reliable* only when a test on the counts says so:

* claims: the share of the stage's participants who voiced the claim, before and after, Fisher's
  exact test (participants are the unit: a person's excerpts are not independent);
* the emotion curve: the participants' mean valence per stage, Mann–Whitney U, with a seeded
  bootstrap 95 % interval for the change;
* Benjamini–Hochberg across every test of the diff; reliable is q < ``alpha``.

Within one study, many participants are in both snapshots, so the two samples overlap and the
tests are conservative for them (they treat the samples as independent).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .journey import JourneyMap, benjamini_hochberg
from .store import Store

FORMAT = "journey-workbench-snapshot"
#: metric measures a goal can take (the sources' metadata)
GOAL_METRICS = ("csat", "ces", "nps")
DIFF_COLUMNS = ["kind", "change", "reliable", "stage", "lane", "text", "code", "claim_id", "before", "n_before", "after",
                "n_after", "difference", "low", "high", "p_value", "q_value", "test", "summary", "evidence_ids",
                "new_evidence_ids"]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ------------------------------------------------------------------------------------ snapshots
def snapshot_body(jm: JourneyMap, sources: list[dict] | None = None, goals: list[dict] | None = None) -> dict:
    """Everything a later diff needs of a map, as JSON-ready data."""
    part = jm.evidence["participant"].to_numpy(dtype=object)
    row_of = {e: i for i, e in enumerate(jm.evidence["excerpt_id"].tolist())}
    stage_people = jm.evidence.groupby("stage")["participant"].nunique().astype(int).to_dict()
    stage_excerpts = jm.evidence.groupby("stage").size().astype(int).to_dict()
    valence = {}
    ev = jm.evidence[jm.evidence["valence"].notna()]
    for stage, g in ev.groupby("stage", sort=True):
        valence[stage] = [round(float(v), 6) for v in g.groupby("participant", sort=True)["valence"].mean().tolist()]
    claims = []
    for c in jm.claims:
        people = {part[row_of[i]] for i in c.evidence if i in row_of}
        claims.append({"claim_id": c.claim_id, "stage": c.stage, "lane": c.lane, "text": c.text, "code": c.code,
                       "detail": c.detail, "value": c.value, "n_excerpts": c.n_excerpts,
                       "n_participants": len(people) if people else c.n_participants, "evidence": list(c.evidence)})
    curve = [{"stage": p.stage, "n": p.n, "mean": p.mean, "low": p.low, "high": p.high, "n_all": p.n_all,
              "share_negative": p.share_negative, "share_positive": p.share_positive, "evidence": list(p.evidence)}
             for p in jm.curve]
    diffs = jm.differences
    return {"format": FORMAT, "version": 1, "study": jm.study, "workbench": __version__,
            "stage_model": {"name": jm.stage_model, "version": jm.stage_model_version, "stages": [list(s) for s in jm.stages]},
            "settings": jm.settings, "codebooks": jm.codebooks, "coders": jm.coders, "segment": jm.segment,
            "group_by": jm.group_by, "groups": [m.name for m in jm.groups],
            "differences": [] if diffs is None or diffs.empty else json.loads(diffs.to_json(orient="records")),
            "sources": sources or [], "stage_participants": stage_people, "stage_excerpts": stage_excerpts,
            "participants": int(jm.evidence["participant"].nunique()), "excerpts": int(len(jm.evidence)),
            "claims": claims, "curve": curve, "valence": valence, "goals": goals or []}


def save_snapshot(store: Store, name: str, jm: JourneyMap, replace: bool = False, created: str | None = None) -> dict:
    """Store ``jm`` in the study as snapshot ``name`` (with the study's sources and its goals measured)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InputError("A snapshot needs a name (up to 200 characters), e.g. --snapshot 2026-Q1.")
    sources = [{"source_id": r[0], "name": r[1], "content_hash": r[2]} for r in store.con.execute(
        "SELECT source_id, name, content_hash FROM sources ORDER BY name, source_id").fetchall()]
    body = snapshot_body(jm, sources, measure_goals(store, jm))
    body["name"], body["created"] = name, created or _now()
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM map_snapshots WHERE name = ?", (name,)).fetchone():
            if not replace:
                raise InputError(f"The study already has a snapshot {name!r}: choose another name, or add --replace.")
            con.execute("DELETE FROM map_snapshots WHERE name = ?", (name,))
        con.execute("INSERT INTO map_snapshots (name, created, body) VALUES (?, ?, ?)", (name, body["created"], text))
    return body


def list_snapshots(store: Store) -> pd.DataFrame:
    rows = store.con.execute("SELECT name, created, body FROM map_snapshots ORDER BY created, name").fetchall()
    out = []
    for name, created, body in rows:
        b = json.loads(body)
        out.append({"name": name, "created": created, "stage_model": b["stage_model"]["name"], "sources": len(b["sources"]),
                    "excerpts": b["excerpts"], "participants": b["participants"], "claims": len(b["claims"]),
                    "group_by": b.get("group_by") or ""})
    return pd.DataFrame(out, columns=["name", "created", "stage_model", "sources", "excerpts", "participants", "claims",
                                      "group_by"])


def load_snapshot(store: Store, name: str) -> dict:
    row = store.con.execute("SELECT body FROM map_snapshots WHERE name = ?", (name,)).fetchone()
    if row is None:
        have = list_snapshots(store)["name"].tolist()
        listed = ", ".join(have) or "none yet (make one with workbench map --study S --snapshot NAME)"
        raise InputError(f"No snapshot {name!r} in {store.path.name}; it has: {listed}.")
    return json.loads(row[0])


# ------------------------------------------------------------------------------------ diff
def diff_snapshots(a: dict, b: dict, alpha: float = 0.05, seed: int = 0, n_boot: int = 2000,
                   min_count: int = 2) -> pd.DataFrame:
    """What changed from snapshot ``a`` (before) to ``b`` (after): one row per claim and per stage of the curve.

    ``change`` is appeared / disappeared / grew / shrank / same (claims) or rose / fell / same (curve);
    ``before`` / ``after`` are shares of the stage's participants (claims) or mean valences (curve);
    ``reliable`` marks the changes a test supports after Benjamini–Hochberg. Claims voiced by fewer
    than ``min_count`` participants in both together are listed but not tested. Metrics claims
    (CSAT, NPS, CES means) are listed with their values, untested: goals measure those with intervals.
    """
    from scipy.stats import fisher_exact, mannwhitneyu

    stages_a = [s for s, _ in a["stage_model"]["stages"]]
    stages_b = [s for s, _ in b["stage_model"]["stages"]]
    if stages_a != stages_b:
        raise InputError(f"The snapshots use different stage models ({a['stage_model']['name']}: {', '.join(stages_a)}; "
                         f"{b['stage_model']['name']}: {', '.join(stages_b)}): a diff needs the same stages.")
    rank = {s: i for i, s in enumerate(stages_a)}
    ca = {c["claim_id"]: c for c in a["claims"]}
    cb = {c["claim_id"]: c for c in b["claims"]}
    na, nb = a["stage_participants"], b["stage_participants"]
    rows = []
    for cid in sorted(set(ca) | set(cb), key=lambda k: (rank.get((ca.get(k) or cb.get(k))["stage"], 99), k)):
        c = cb.get(cid) or ca[cid]
        stage = c["stage"]
        k_a = ca[cid]["n_participants"] if cid in ca else 0
        k_b = cb[cid]["n_participants"] if cid in cb else 0
        n_a, n_b = int(na.get(stage, 0)), int(nb.get(stage, 0))
        s_a = k_a / n_a if n_a else None
        s_b = k_b / n_b if n_b else None
        ev_b = cb[cid]["evidence"] if cid in cb else []
        ev_a = set(ca[cid]["evidence"]) if cid in ca else set()
        change = "appeared" if cid not in ca else "disappeared" if cid not in cb else \
            "grew" if (s_b or 0) > (s_a or 0) else "shrank" if (s_b or 0) < (s_a or 0) else "same"
        row = {"kind": "claim", "change": change, "stage": stage, "lane": c["lane"], "text": c["text"], "code": c["code"],
               "claim_id": cid, "before": None if s_a is None else round(s_a, 4), "n_before": n_a,
               "after": None if s_b is None else round(s_b, 4), "n_after": n_b,
               "difference": None if s_a is None or s_b is None else round(s_b - s_a, 4),
               "low": None, "high": None, "p_value": None, "test": "",
               "evidence_ids": ";".join(ev_b if ev_b else ca[cid]["evidence"]),
               "new_evidence_ids": ";".join(i for i in ev_b if i not in ev_a)}
        if c["lane"] == "metrics":
            va, vb = (ca.get(cid) or {}).get("value"), (cb.get(cid) or {}).get("value")
            row.update(before=va, after=vb, difference=None if va is None or vb is None else round(vb - va, 4),
                       test="not tested (a mean; see goals)",
                       change=change if change in ("appeared", "disappeared") else
                       "grew" if (vb or 0) > (va or 0) else "shrank" if (vb or 0) < (va or 0) else "same")
            row["summary"] = f"{c['text']} ({stage}): {_fmt(va)} → {_fmt(vb)}"
        else:
            if n_a and n_b and k_a + k_b >= min_count:
                row["p_value"] = float(fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]])[1])
                row["test"] = "Fisher's exact, participants"
            row["summary"] = (f"{c['text']} ({stage}): {k_a} of {n_a} participants ({_pct(s_a)}) → "
                              f"{k_b} of {n_b} ({_pct(s_b)}), {change}")
        rows.append(row)
    rng = np.random.default_rng(seed)
    pa, pb = {p["stage"]: p for p in a["curve"]}, {p["stage"]: p for p in b["curve"]}
    for stage in stages_a:
        va = np.asarray(a["valence"].get(stage, []), float)
        vb = np.asarray(b["valence"].get(stage, []), float)
        if len(va) == 0 and len(vb) == 0:
            continue
        row = {"kind": "curve", "stage": stage, "lane": "feeling", "text": "mean valence of participants", "code": "",
               "claim_id": "", "before": round(float(va.mean()), 4) if len(va) else None, "n_before": len(va),
               "after": round(float(vb.mean()), 4) if len(vb) else None, "n_after": len(vb),
               "difference": None, "low": None, "high": None, "p_value": None, "test": "",
               "evidence_ids": ";".join(pb.get(stage, pa.get(stage, {})).get("evidence", [])), "new_evidence_ids": ""}
        if len(va) and len(vb):
            d = float(vb.mean() - va.mean())
            row["difference"] = round(d, 4)
            row["change"] = "rose" if d > 0 else "fell" if d < 0 else "same"
            if len(va) >= 2 and len(vb) >= 2:
                boot = (rng.choice(vb, (n_boot, len(vb))).mean(1) - rng.choice(va, (n_boot, len(va))).mean(1))
                row["low"], row["high"] = (round(float(x), 4) for x in np.quantile(boot, [0.025, 0.975]))
                row["p_value"] = float(mannwhitneyu(vb, va, alternative="two-sided")[1])
                row["test"] = "Mann-Whitney U, participants"
            ci = f" [{row['low']:+.2f}, {row['high']:+.2f}]" if row["low"] is not None else ""
            row["summary"] = (f"{stage}: mean valence {row['before']:+.2f} ({len(va)} participants) → "
                              f"{row['after']:+.2f} ({len(vb)}), change {d:+.2f}{ci}")
        else:
            row["change"] = "appeared" if len(vb) else "disappeared"
            row["summary"] = f"{stage}: valence only {'after' if len(vb) else 'before'}"
        rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in DIFF_COLUMNS if c not in ("q_value", "reliable")])
    tested = out["p_value"].notna().to_numpy()
    q = np.full(len(out), np.nan)
    if tested.any():
        q[tested] = benjamini_hochberg(out.loc[tested, "p_value"].to_numpy(dtype=float))
    out["q_value"] = np.round(q, 6)
    out["reliable"] = tested & (np.nan_to_num(q, nan=1.0) < alpha) & (out["change"] != "same").to_numpy()
    out["p_value"] = out["p_value"].astype(float).round(6)
    out["_r"] = out["stage"].map(rank)
    out["_q"] = out["q_value"].fillna(2.0)
    out = out.sort_values(["reliable", "_q", "_r", "claim_id"], ascending=[False, True, True, True], kind="stable")
    return out.drop(columns=["_r", "_q"])[DIFF_COLUMNS].reset_index(drop=True)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def diff_summary(d: pd.DataFrame) -> dict[str, int]:
    """Counts of a diff: claims appeared / disappeared / grew / shrank, and how many changes are reliable."""
    claims = d[d["kind"] == "claim"]
    out = {k: int((claims["change"] == k).sum()) for k in ("appeared", "disappeared", "grew", "shrank", "same")}
    out["reliable"] = int(d["reliable"].sum())
    return out


def diff_quotes(d: pd.DataFrame, *stores: Store, per_change: int = 3) -> dict[str, str]:
    """The verbatim quotes a diff's lines show (its first new — else first — evidence ids), from the studies given."""
    ids: set[str] = set()
    for new, ev in zip(d["new_evidence_ids"].fillna(""), d["evidence_ids"].fillna("")):
        ids.update(i for i in (new or ev).split(";")[:per_change] if i)
    quotes: dict[str, str] = {}
    for store in stores:
        if ids - set(quotes):
            got = store.excerpts_of(sorted(ids - set(quotes)))
            quotes.update(zip(got["excerpt_id"], got["text"].fillna("")))
    return quotes


def changes_since(store: Store, name: str, jm: JourneyMap, against: Store | None = None, seed: int = 0):
    """What changed from snapshot ``name`` (of ``against``, else of ``store``) to the map ``jm`` of ``store``,
    ready for the report (:class:`~workbench.report_tracking.Changes`)."""
    from .report_tracking import Changes

    before = load_snapshot(against or store, name)
    d = diff_snapshots(before, snapshot_body(jm), seed=seed)
    stores = (store,) + ((against,) if against is not None else ())
    where = f" ({against.path.name})" if against is not None else ""
    return Changes(d, f"{name}{where}", "this map", diff_quotes(d, *stores))


# ------------------------------------------------------------------------------------ goals
def _goal_id(name: str, stage: str, measure: str) -> str:
    return "G" + hashlib.sha256(f"{name}\0{stage}\0{measure}".encode()).hexdigest()[:10]


def parse_measure(measure: str) -> tuple[str, str]:
    """``pain:CODE`` (share of the stage's excerpts coded with that pain point), ``metric:csat|ces|nps``
    (the mean over the stage's conversations) or ``valence`` (the participants' mean valence)."""
    kind, _, arg = (measure or "").strip().partition(":")
    if kind == "pain" and arg.strip():
        return "pain", arg.strip()
    if kind == "metric" and arg.strip().lower() in GOAL_METRICS:
        return "metric", arg.strip().lower()
    if kind == "valence" and not arg:
        return "valence", ""
    raise InputError(f"Cannot read the measure {measure!r}: write pain:CODE (e.g. pain:repeat_contact), "
                     f"metric:csat, metric:ces, metric:nps, or valence.")


def add_goal(store: Store, name: str, stage: str, measure: str, better: str = "lower") -> str:
    """A goal tied to a stage and a measure ("fewer repeat contacts in onboarding": pain:repeat_contact, lower)."""
    from .journey import study_stage_model

    name = (name or "").strip()
    if not name:
        raise InputError("A goal needs a name, e.g. --name 'Fewer repeat contacts in onboarding'.")
    kind, arg = parse_measure(measure)
    if better not in ("lower", "higher"):
        raise InputError("--better is lower or higher.")
    try:
        stages = [c.code_id for c in study_stage_model(store).ordered]
    except InputError:
        stages = []
    if stages and stage not in stages:
        raise InputError(f"No stage {stage!r} in the study's stage model; it has: {', '.join(stages)}.")
    if kind == "pain":
        from .journey import study_codebooks
        books, _ = study_codebooks(store)
        codes = [c.code_id for c in books["pain_point"].codes] if "pain_point" in books else []
        if codes and arg not in codes:
            raise InputError(f"No pain point {arg!r} in the study's pain-point codebook; it has: {', '.join(codes)}.")
    gid = _goal_id(name, stage, f"{kind}:{arg}" if arg else kind)
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM goals WHERE goal_id = ?", (gid,)).fetchone():
            raise InputError(f"The study already has the goal {name!r} on {stage} with {measure}.")
        con.execute("INSERT INTO goals (goal_id, name, stage, measure, better, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (gid, name, stage, f"{kind}:{arg}" if arg else kind, better, _now()))
    return gid


def list_goals(store: Store) -> pd.DataFrame:
    return store.query("SELECT goal_id, name, stage, measure, better, created FROM goals ORDER BY created, name")


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (round(max(0.0, c - h), 4), round(min(1.0, c + h), 4))


def _boot_mean(v: np.ndarray, seed: int, n_boot: int = 2000) -> tuple[float | None, float | None]:
    if len(v) < 2:
        return (None, None)
    rng = np.random.default_rng(seed)
    m = rng.choice(v, (n_boot, len(v))).mean(1)
    low, high = np.quantile(m, [0.025, 0.975])
    return (round(float(low), 4), round(float(high), 4))


def measure_goals(store: Store, jm: JourneyMap) -> list[dict]:
    """Each of the study's goals measured on ``jm``, with a 95 % interval (Wilson for shares, a seeded
    bootstrap for means) and n."""
    from .journey import _meta_metrics

    goals = list_goals(store)
    if goals.empty:
        return []
    seed = int(jm.settings.get("seed", 0) or 0)
    ev = jm.evidence
    out = []
    metrics = None
    for g in goals.itertuples():
        kind, _, arg = g.measure.partition(":")
        at = ev[ev["stage"] == g.stage]
        rec = {"goal_id": g.goal_id, "name": g.name, "stage": g.stage, "measure": g.measure, "better": g.better,
               "value": None, "low": None, "high": None, "n": int(len(at)), "unit": ""}
        if kind == "pain":
            claim = next((c for c in jm.claims if c.stage == g.stage and c.lane == "pain_points" and c.code == arg), None)
            k = claim.n_excerpts if claim else 0
            if len(at):
                rec.update(value=round(k / len(at), 4), k=k, unit="share of the stage's excerpts")
                rec["low"], rec["high"] = _wilson(k, len(at))
        elif kind == "metric":
            if metrics is None:
                metrics = _meta_metrics(store).set_index("source_id")
            per = metrics[arg].reindex(at["source_id"].unique()).dropna().to_numpy(dtype=float)
            rec.update(n=int(len(per)), unit=f"mean {arg.upper()} over the stage's conversations")
            if len(per):
                rec["value"] = round(float(per.mean()), 4)
                rec["low"], rec["high"] = _boot_mean(per, seed)
        else:
            per = at[at["valence"].notna()].groupby("participant")["valence"].mean().to_numpy(dtype=float)
            rec.update(n=int(len(per)), unit="participants' mean valence")
            if len(per):
                rec["value"] = round(float(per.mean()), 4)
                rec["low"], rec["high"] = _boot_mean(per, seed)
        out.append(rec)
    return out


def goal_history(store: Store) -> pd.DataFrame:
    """Every goal's measure in every snapshot, oldest snapshot first."""
    rows = []
    for name, created, body in store.con.execute("SELECT name, created, body FROM map_snapshots ORDER BY created, name"):
        for g in json.loads(body).get("goals", []):
            rows.append({"snapshot": name, "created": created, **{k: g.get(k) for k in
                         ("goal_id", "name", "stage", "measure", "better", "value", "low", "high", "n", "unit")}})
    return pd.DataFrame(rows, columns=["snapshot", "created", "goal_id", "name", "stage", "measure", "better", "value",
                                       "low", "high", "n", "unit"])


__all__ = ["changes_since", "diff_quotes", "save_snapshot", "load_snapshot", "list_snapshots", "snapshot_body", "diff_snapshots", "diff_summary",
           "add_goal", "list_goals", "measure_goals", "goal_history", "parse_measure", "DIFF_COLUMNS"]
