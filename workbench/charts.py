"""Altair charts of a journey map; every mark carries its claim id and evidence ids.

Data are aggregated in pandas first (one row per claim, stage or cell), so a study of 100,000
excerpts gives charts of a few hundred rows: no 5,000-row limit, small specs. A mark's
``evidence`` field lists the ids of its quotes (the first ``EVIDENCE_IN_MARK``; the claim's full
list is in ``claims.csv`` and the report), and its tooltip shows a short quote and the support.
"""
from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from .journey import LANE_LABELS, LANES, JourneyMap

EVIDENCE_IN_MARK = 25
_FONT = "Helvetica, Arial, sans-serif"


def _short(text: str, n: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def grid_data(jm: JourneyMap, per_cell: int = 3) -> pd.DataFrame:
    """One row per stage × lane cell: its top claims as lines, support and evidence ids."""
    labels = dict(jm.stages)
    rows = []
    cells: dict[tuple[str, str], list] = {}
    for c in jm.claims:
        cells.setdefault((c.stage, c.lane), []).append(c)
    for stage, _ in jm.stages:
        for lane in LANES:
            cs = cells.get((stage, lane), [])
            top = cs[:per_cell]
            ids = [i for c in top for i in c.evidence][:EVIDENCE_IN_MARK]
            lines = [f"{_short(c.text, 28)} ({c.n_participants}{'*' if c.thin else ''})" for c in top]
            if len(cs) > per_cell:
                lines.append(f"+{len(cs) - per_cell} more")
            rows.append({"stage": stage, "stage_label": labels[stage], "lane": lane, "lane_label": LANE_LABELS[lane],
                         "lines": lines, "n_claims": len(cs), "n_excerpts": sum(c.n_excerpts for c in cs),
                         "support": max((c.n_participants for c in cs), default=0),
                         "claim_ids": ";".join(c.claim_id for c in top),
                         "evidence": ";".join(ids),
                         "quote": _short(jm.quote(top[0].evidence[0])) if top else "",
                         "top_claim": top[0].text if top else ""})
    return pd.DataFrame(rows)


def journey_grid(jm: JourneyMap, select: bool = False) -> alt.LayerChart:
    """Stages × lanes, each cell its top claims. ``select``: clicking a cell sets the point selection
    ``cell`` to its stage and lane (the map explorer shows its quotes)."""
    data = grid_data(jm)
    stage_order = [label for _, label in jm.stages]
    lane_order = [LANE_LABELS[lane] for lane in LANES]
    base = alt.Chart(data).encode(
        x=alt.X("stage_label:N", sort=stage_order, title=None, axis=alt.Axis(orient="top", labelAngle=0, labelFontWeight="bold")),
        y=alt.Y("lane_label:N", sort=lane_order, title=None),
    )
    tooltip = [alt.Tooltip("stage_label:N", title="stage"), alt.Tooltip("lane_label:N", title="lane"),
               alt.Tooltip("top_claim:N", title="top claim"), alt.Tooltip("quote:N", title="quote"),
               alt.Tooltip("n_excerpts:Q", title="excerpts"), alt.Tooltip("support:Q", title="participants (top claim)"),
               alt.Tooltip("claim_ids:N", title="claims")]
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("support:Q", title="participants behind the top claim", scale=alt.Scale(scheme="blues", domainMin=0)),
        tooltip=tooltip)
    text = base.mark_text(align="left", baseline="top", dx=-75, dy=-27, fontSize=10, lineBreak="\n", font=_FONT).encode(
        text=alt.Text("lines_text:N"), tooltip=tooltip,
        color=alt.condition("datum.support > 6", alt.value("white"), alt.value("#1a1a1a")))
    layers = [cells, text]
    if select:   # a transparent rect on top catches clicks on the text as well
        cell = alt.selection_point(name="cell", fields=["stage", "lane"], on="click", clear="dblclick")
        layers.append(base.mark_rect(fill="white", fillOpacity=0.001, cursor="pointer").encode(tooltip=tooltip)
                      .add_params(cell))
    chart = alt.layer(*layers).transform_calculate(lines_text="join(datum.lines, '\\n')")
    return chart.properties(width=alt.Step(160), height=alt.Step(62),
                            title=f"Journey map — {jm.segment or 'all segments'} ({jm.stage_model})")


def curve_data(jm: JourneyMap, name: str | None = None) -> pd.DataFrame:
    rows = []
    labels = dict(jm.stages)
    for order, p in enumerate(jm.curve):
        rows.append({"stage": p.stage, "stage_label": labels[p.stage], "order": order, "segment": name or jm.segment or "all",
                     "mean": p.mean, "low": p.low, "high": p.high, "n": p.n,
                     "evidence": ";".join(p.evidence[:EVIDENCE_IN_MARK]),
                     "quote": _short(jm.quote(p.evidence[0])) if p.evidence else ""})
    return pd.DataFrame(rows)


def emotion_curve(jm: JourneyMap | Sequence[JourneyMap], select: bool = False) -> alt.LayerChart:
    """Mean valence per stage with its interval; ``select``: clicking a point sets the selection ``point``."""
    maps = [jm] if isinstance(jm, JourneyMap) else list(jm)
    data = pd.concat([curve_data(m) for m in maps], ignore_index=True)
    data = data[data["n"] > 0]
    stage_order = [label for _, label in maps[0].stages]
    x = alt.X("stage_label:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0))
    color = alt.Color("segment:N", title="segment", legend=alt.Legend(orient="bottom")) if len(maps) > 1 else alt.value("#3465a4")
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("stage_label:N", title="stage"),
               alt.Tooltip("mean:Q", format="+.2f", title="mean valence"), alt.Tooltip("low:Q", format="+.2f", title="95% low"),
               alt.Tooltip("high:Q", format="+.2f", title="95% high"), alt.Tooltip("n:Q", title="excerpts"),
               alt.Tooltip("quote:N", title="quote")]
    base = alt.Chart(data).encode(x=x, color=color)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#999", strokeDash=[4, 4]).encode(y="y:Q")
    band = base.mark_errorbar(ticks=True).encode(y=alt.Y("low:Q", title="mean valence (−1 … +1)", scale=alt.Scale(domain=[-1, 1])),
                                                 y2="high:Q")
    line = base.mark_line(point=alt.OverlayMarkDef(size=70, filled=True)).encode(y="mean:Q", tooltip=tooltip)
    layers = [zero, band, line]
    if select:
        point = alt.selection_point(name="point", fields=["stage", "segment"], on="click", clear="dblclick")
        layers.append(base.mark_point(size=400, opacity=0.001, filled=True, cursor="pointer").encode(y="mean:Q", tooltip=tooltip)
                      .add_params(point))
    return alt.layer(*layers).properties(width=alt.Step(160), height=220, title="Emotion curve (bootstrap 95% interval)")


def pain_data(jm: JourneyMap) -> pd.DataFrame:
    labels = dict(jm.stages)
    rows = [{"stage": c.stage, "stage_label": labels[c.stage], "category": c.text, "n_excerpts": c.n_excerpts,
             "n_participants": c.n_participants, "severity": c.value, "claim_id": c.claim_id,
             "evidence": ";".join(c.evidence[:EVIDENCE_IN_MARK]), "quote": _short(jm.quote(c.evidence[0]))}
            for c in jm.claims if c.lane == "pain_points"]
    return pd.DataFrame(rows, columns=["stage", "stage_label", "category", "n_excerpts", "n_participants", "severity",
                                       "claim_id", "evidence", "quote"])


def pain_heat(jm: JourneyMap) -> alt.LayerChart:
    data = pain_data(jm)
    stage_order = [label for _, label in jm.stages]
    base = alt.Chart(data).encode(x=alt.X("stage_label:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0)),
                                  y=alt.Y("category:N", title=None, sort=alt.EncodingSortField("n_excerpts", op="sum", order="descending")))
    tooltip = [alt.Tooltip("category:N"), alt.Tooltip("stage_label:N", title="stage"), alt.Tooltip("n_excerpts:Q", title="excerpts"),
               alt.Tooltip("n_participants:Q", title="participants"), alt.Tooltip("severity:Q", format=".1f", title="mean severity (1–3)"),
               alt.Tooltip("quote:N", title="quote")]
    rect = base.mark_rect().encode(color=alt.Color("n_excerpts:Q", title="excerpts", scale=alt.Scale(scheme="orangered")),
                                   tooltip=tooltip)
    text = base.mark_text(fontSize=11).encode(text="n_excerpts:Q", tooltip=tooltip,
                                              color=alt.condition("datum.n_excerpts > 8", alt.value("white"), alt.value("black")))
    return (rect + text).properties(width=alt.Step(160), height=alt.Step(22), title="Pain points by stage (excerpts)")


def comparison_chart(maps: Sequence[JourneyMap], differences: pd.DataFrame) -> alt.VConcatChart:
    """Emotion curves of several segments on one axis, and the supported differences as a table chart."""
    curve = emotion_curve(maps)
    diffs = differences.head(30).reset_index(drop=True).assign(row=lambda d: d.index)
    diffs["evidence"] = diffs["evidence_ids"].str.split(";").str[:EVIDENCE_IN_MARK].str.join(";")
    table = alt.Chart(diffs).mark_text(align="left", fontSize=11).encode(
        x=alt.value(0), y=alt.Y("row:O", axis=None), text="summary:N",
        tooltip=[alt.Tooltip("summary:N"), alt.Tooltip("higher_in:N"), alt.Tooltip("difference:Q", format=".2f")],
    ).properties(width=900, height=alt.Step(16), title="Differences supported by evidence")
    return alt.vconcat(curve, table)


def map_chart(jm: JourneyMap) -> alt.VConcatChart:
    """The whole map as one figure (for map.png / map.svg)."""
    return alt.vconcat(journey_grid(jm), emotion_curve(jm), pain_heat(jm)).resolve_scale(color="independent") \
        .configure_view(stroke=None).configure(font=_FONT)


__all__ = ["journey_grid", "emotion_curve", "pain_heat", "comparison_chart", "map_chart", "grid_data", "curve_data",
           "pain_data", "EVIDENCE_IN_MARK"]
