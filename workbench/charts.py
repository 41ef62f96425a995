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
OFFLINE_RENDERER = "workbench-offline"


def stable_svg_ids(svg: str) -> str:
    """Number the SVG's gradient/clip ids from 0 (the renderer counts per process), so reruns are identical."""
    import re

    seen: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        return seen.setdefault(m.group(0), f"{m.group(1)}_{sum(k.startswith(m.group(1)) for k in seen)}")

    return re.sub(r"\b(gradient|clip)_(\d+)\b", sub, svg)


def _offline_svg(spec: dict, **_) -> dict:
    """A chart as SVG drawn by vl-convert in this process: no script, no CDN, shows in any notebook viewer."""
    import vl_convert

    return {"image/svg+xml": stable_svg_ids(vl_convert.vegalite_to_svg(spec)), "text/plain": "<Altair chart (SVG, offline)>"}


def offline() -> None:
    """Show Altair charts as offline SVG (the notebooks and the report notebook call this on import of
    this module: Altair's default HTML output loads Vega from a CDN, which fails without internet)."""
    if OFFLINE_RENDERER not in alt.renderers.names():
        alt.renderers.register(OFFLINE_RENDERER, _offline_svg)
    alt.renderers.enable(OFFLINE_RENDERER)


if alt.renderers.active == "default":     # a researcher's own choice of renderer is left alone
    offline()


CELL_CHARS = 36     # characters per line of a map cell (two lines per claim)


def _short(text: str, n: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _wrap(text: str, width: int = CELL_CHARS, lines: int = 2) -> list[str]:
    """A claim in at most ``lines`` lines of ``width`` characters; the support count "(n)" stays on the last."""
    import textwrap

    body, _, support = text.rpartition(" (")
    out = textwrap.wrap(" ".join(body.split()), width)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    if out:
        out[-1] += f" ({support}"
    return out


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
            lines = [ln for c in top for ln in _wrap(f"{c.text} ({c.n_participants}{'*' if c.thin else ''})")]
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
    text = base.mark_text(align="left", baseline="top", dx=-102, dy=-44, fontSize=10, lineBreak="\n", font=_FONT).encode(
        text=alt.Text("lines_text:N"), tooltip=tooltip,
        color=alt.condition("datum.support > 6", alt.value("white"), alt.value("#1a1a1a")))
    layers = [cells, text]
    if select:   # a transparent rect on top catches clicks on the text as well
        cell = alt.selection_point(name="cell", fields=["stage", "lane"], on="click", clear="dblclick")
        layers.append(base.mark_rect(fill="white", fillOpacity=0.001, cursor="pointer").encode(tooltip=tooltip)
                      .add_params(cell))
    chart = alt.layer(*layers).transform_calculate(lines_text="join(datum.lines, '\\n')")
    return chart.properties(width=alt.Step(210), height=alt.Step(96),
                            title=f"Journey map — {jm.group or jm.segment or 'all segments'} ({jm.stage_model})")


def curve_data(jm: JourneyMap, name: str | None = None) -> pd.DataFrame:
    rows = []
    labels = dict(jm.stages)
    for order, p in enumerate(jm.curve):
        moment = f"{'▼' if p.moment == 'drop' else '▲'} largest {p.moment} {p.change:+.2f}" if p.moment else ""
        rows.append({"stage": p.stage, "stage_label": labels[p.stage], "order": order, "segment": name or jm.name,
                     "mean": p.mean, "low": p.low, "high": p.high, "n": p.n, "n_all": p.n_all,
                     "share_negative": p.share_negative, "negative_low": p.negative_low, "negative_high": p.negative_high,
                     "share_positive": p.share_positive, "positive_low": p.positive_low, "positive_high": p.positive_high,
                     "moment": moment,
                     "evidence": ";".join(p.evidence[:EVIDENCE_IN_MARK]),
                     "quote": _short(jm.quote(p.evidence[0])) if p.evidence else ""})
    return pd.DataFrame(rows)


def emotion_curve(jm: JourneyMap | Sequence[JourneyMap], select: bool = False) -> alt.LayerChart:
    """Mean valence of the emotional excerpts per stage with its interval, the moments of truth
    (largest drop and rise) labelled; ``select``: clicking a point sets the selection ``point``."""
    maps = [jm] if isinstance(jm, JourneyMap) else list(jm)
    data = pd.concat([curve_data(m) for m in maps], ignore_index=True)
    data = data[data["n"] > 0]
    stage_order = [label for _, label in maps[0].stages]
    x = alt.X("stage_label:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0))
    color = alt.Color("segment:N", title="segment", legend=alt.Legend(orient="bottom")) if len(maps) > 1 else alt.value("#3465a4")
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("stage_label:N", title="stage"),
               alt.Tooltip("mean:Q", format="+.2f", title="mean valence (emotional excerpts)"),
               alt.Tooltip("low:Q", format="+.2f", title="95% low"), alt.Tooltip("high:Q", format="+.2f", title="95% high"),
               alt.Tooltip("n:Q", title="emotional excerpts"), alt.Tooltip("n_all:Q", title="all excerpts"),
               alt.Tooltip("share_negative:Q", format=".0%", title="negative"),
               alt.Tooltip("share_positive:Q", format=".0%", title="positive"), alt.Tooltip("quote:N", title="quote")]
    base = alt.Chart(data).encode(x=x, color=color)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#999", strokeDash=[4, 4]).encode(y="y:Q")
    band = base.mark_errorbar(ticks={"size": 12}).encode(y=alt.Y("low:Q", title="mean valence, emotional excerpts (−1 … +1)",
                                                         scale=alt.Scale(domain=[-1, 1])), y2="high:Q")
    line = base.mark_line(point=alt.OverlayMarkDef(size=70, filled=True)).encode(y="mean:Q", tooltip=tooltip)
    layers = [zero, band, line]
    if len(maps) == 1:
        layers.append(base.mark_text(dy=-12, dx=8, align="left", fontSize=11, fontWeight="bold", font=_FONT)
                      .encode(y="mean:Q", text="moment:N", color=alt.value("#7a1f1f")))
    if select:
        point = alt.selection_point(name="point", fields=["stage", "segment"], on="click", clear="dblclick")
        layers.append(base.mark_point(size=400, opacity=0.001, filled=True, cursor="pointer").encode(y="mean:Q", tooltip=tooltip)
                      .add_params(point))
    return alt.layer(*layers).properties(width=alt.Step(160), height=220,
                                         title="Emotion curve: how the emotional moments feel (bootstrap 95% interval)")


def sentiment_shares(jm: JourneyMap) -> alt.LayerChart:
    """Per stage, the share of negative excerpts (down) and positive ones (up), with 95% intervals."""
    data = curve_data(jm)
    data = data[data["n_all"] > 0]
    rows = []
    for r in data.itertuples():
        rows.append({"stage_label": r.stage_label, "side": "negative", "share": -r.share_negative,
                     "low": -(r.negative_high if r.negative_high is not None else r.share_negative),
                     "high": -(r.negative_low if r.negative_low is not None else r.share_negative),
                     "label": f"{r.share_negative:.0%}", "n_all": r.n_all, "evidence": r.evidence})
        rows.append({"stage_label": r.stage_label, "side": "positive", "share": r.share_positive,
                     "low": r.positive_low if r.positive_low is not None else r.share_positive,
                     "high": r.positive_high if r.positive_high is not None else r.share_positive,
                     "label": f"{r.share_positive:.0%}", "n_all": r.n_all, "evidence": r.evidence})
    d = pd.DataFrame(rows, columns=["stage_label", "side", "share", "low", "high", "label", "n_all", "evidence"])
    stage_order = [label for _, label in jm.stages]
    base = alt.Chart(d).encode(x=alt.X("stage_label:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0)))
    tooltip = [alt.Tooltip("stage_label:N", title="stage"), alt.Tooltip("side:N"), alt.Tooltip("label:N", title="share"),
               alt.Tooltip("n_all:Q", title="excerpts")]
    bars = base.mark_bar(size=34).encode(
        y=alt.Y("share:Q", title="share of excerpts (negative ↓ · positive ↑)", scale=alt.Scale(domain=[-1, 1]),
                axis=alt.Axis(format="~%", labelExpr="format(abs(datum.value), '.0%')")),
        color=alt.Color("side:N", scale=alt.Scale(domain=["negative", "positive"], range=["#c0392b", "#2e8b57"]),
                        legend=alt.Legend(orient="bottom", title=None)), tooltip=tooltip)
    err = base.mark_errorbar(ticks={"size": 12}, color="#333").encode(
        y=alt.Y("low:Q", title="share of excerpts (negative ↓ · positive ↑)"), y2="high:Q")
    return alt.layer(bars, err).properties(width=alt.Step(160), height=160, title="Negative and positive excerpts per stage")


def pain_data(jm: JourneyMap) -> pd.DataFrame:
    labels = dict(jm.stages)
    rows = [{"stage": c.stage, "stage_label": labels[c.stage], "category": c.text, "n_excerpts": c.n_excerpts,
             "n_participants": c.n_participants, "severity": c.value, "severity_levels": c.detail, "claim_id": c.claim_id,
             "evidence": ";".join(c.evidence[:EVIDENCE_IN_MARK]), "quote": _short(jm.quote(c.evidence[0]))}
            for c in jm.claims if c.lane == "pain_points"]
    return pd.DataFrame(rows, columns=["stage", "stage_label", "category", "n_excerpts", "n_participants", "severity",
                                       "severity_levels", "claim_id", "evidence", "quote"])


def pain_heat(jm: JourneyMap) -> alt.LayerChart:
    data = pain_data(jm)
    stage_order = [label for _, label in jm.stages]
    base = alt.Chart(data).encode(x=alt.X("stage_label:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0)),
                                  y=alt.Y("category:N", title=None, sort=alt.EncodingSortField("n_excerpts", op="sum", order="descending")))
    tooltip = [alt.Tooltip("category:N"), alt.Tooltip("stage_label:N", title="stage"), alt.Tooltip("n_excerpts:Q", title="excerpts"),
               alt.Tooltip("n_participants:Q", title="participants"), alt.Tooltip("severity_levels:N", title="severity (level × excerpts)"),
               alt.Tooltip("quote:N", title="quote")]
    rect = base.mark_rect().encode(color=alt.Color("n_excerpts:Q", title="excerpts", scale=alt.Scale(scheme="orangered")),
                                   tooltip=tooltip)
    text = base.mark_text(fontSize=11).encode(text="n_excerpts:Q", tooltip=tooltip,
                                              color=alt.condition("datum.n_excerpts > 8", alt.value("white"), alt.value("black")))
    return (rect + text).properties(width=alt.Step(160), height=alt.Step(22), title="Pain points by stage (excerpts)")


def comparison_chart(maps: Sequence[JourneyMap], differences: pd.DataFrame) -> alt.VConcatChart:
    """Emotion curves of several segments on one axis, and the supported differences as a table chart."""
    curve = emotion_curve(maps)
    reliable = differences[differences["reliable"].astype(bool)] if "reliable" in differences else differences.iloc[:0]
    shown = reliable if len(reliable) else differences.head(5)
    title = "Reliable differences (Benjamini–Hochberg q < 0.05)" if len(reliable) else \
        "No reliable differences; the largest gaps seen (not reliable)"
    diffs = shown.head(30).reset_index(drop=True).assign(row=lambda d: d.index)
    diffs["line"] = [f"{s} (q = {q:.2f})" for s, q in zip(diffs["summary"], diffs["q_value"])]
    diffs["evidence"] = diffs["evidence_ids"].str.split(";").str[:EVIDENCE_IN_MARK].str.join(";")
    table = alt.Chart(diffs).mark_text(align="left", fontSize=11).encode(
        x=alt.value(0), y=alt.Y("row:O", axis=None), text="line:N",
        tooltip=[alt.Tooltip("summary:N"), alt.Tooltip("higher_in:N"), alt.Tooltip("difference:Q", format=".2f"),
                 alt.Tooltip("effect:Q", format=".2f"), alt.Tooltip("q_value:Q", format=".3f")],
    ).properties(width=900, height=alt.Step(16), title=title)
    return alt.vconcat(curve, table)


def map_chart(jm: JourneyMap) -> alt.VConcatChart:
    """The whole map as one figure (for map.png / map.svg)."""
    return alt.vconcat(journey_grid(jm), emotion_curve(jm), sentiment_shares(jm), pain_heat(jm)).resolve_scale(color="independent") \
        .configure_view(stroke=None).configure(font=_FONT)


__all__ = ["offline", "journey_grid", "emotion_curve", "sentiment_shares", "pain_heat", "comparison_chart", "map_chart", "grid_data", "curve_data",
           "pain_data", "EVIDENCE_IN_MARK"]
