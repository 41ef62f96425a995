"""Report sections for journeys compared and tracked: group maps side by side, "What changed" between
two snapshots, and goals across snapshots. Every text is user data and is escaped."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Sequence

import altair as alt
import pandas as pd

from .journey import JourneyMap

#: changes listed besides the reliable ones (the largest, marked not reliable)
TOP_UNRELIABLE = 8
QUOTES_PER_CHANGE = 3


@dataclass
class Changes:
    """A diff for the report: the table (:func:`workbench.snapshots.diff_snapshots`), what it compares,
    and the quotes of its evidence (excerpt id -> text) that the page shows."""

    table: pd.DataFrame
    before: str
    after: str
    quotes: dict[str, str] = field(default_factory=dict)


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def groups_html(groups: Sequence[JourneyMap], group_by: str | None, claim_anchor=None) -> str:
    """Each group's map side by side: per stage, participants, mean valence and the top pain points."""
    if not groups:
        return ""
    stages = groups[0].stages
    head = "".join(f"<th scope='col'>{_e(m.name)}<br><span class='n'>{m.n_participants} participants"
                   + (" · <span class='thin'>thin</span>" if m.n_participants < 5 else "") + "</span></th>" for m in groups)
    body = []
    for stage, label in stages:
        cells = []
        for m in groups:
            pt = next((p for p in m.curve if p.stage == stage), None)
            people = int(m.evidence.loc[m.evidence["stage"] == stage, "participant"].nunique())
            pains = [c for c in m.claims if c.stage == stage and c.lane == "pain_points"][:3]
            feel = f"valence {pt.mean:+.2f} (n {pt.n})" if pt is not None and pt.mean is not None else "no feeling coded"
            items = "".join(f"<li>{_e(c.text)} <span class='n'>{c.n_participants}/{people}</span></li>" for c in pains)
            cells.append(f"<td><span class='n'>{people} participants · {_e(feel)}</span>"
                         + (f"<ul>{items}</ul>" if items else "<p class='n'>no pain point</p>") + "</td>")
        body.append(f"<tr><th scope='row'>{_e(label)}</th>{''.join(cells)}</tr>")
    return (f"<h2 id='groups'>Group maps side by side{f' (by {_e(group_by)})' if group_by else ''}</h2>"
            "<table class='groups'><thead><tr><th></th>" + head + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
            "<p class='sub'>Pain points: participants who voiced it / participants at the stage. "
            "Thin: under 5 participants.</p>")


def changes_html(d: pd.DataFrame, before: str, after: str, quotes: dict[str, str] | None = None,
                 claim_ids: set[str] | None = None, claim_anchor=None) -> str:
    """The "What changed" section: reliable changes first, then the largest others (marked not reliable),
    each with a link to its claim on this map (when it is on it) and up to three of its quotes."""
    quotes = quotes or {}
    claim_ids = claim_ids or set()
    n_tested = int(d["p_value"].notna().sum())
    reliable = d[d["reliable"].astype(bool)]
    rest = d[~d["reliable"].astype(bool) & d["p_value"].notna() & (d["change"] != "same")].head(TOP_UNRELIABLE)

    def line(r) -> str:
        link = ""
        if r.claim_id and r.claim_id in claim_ids and claim_anchor is not None:
            link = f' <a href="#{_e(claim_anchor(r.claim_id))}">the claim</a>'
        ids = [i for i in (r.new_evidence_ids or r.evidence_ids or "").split(";") if i][:QUOTES_PER_CHANGE]
        qs = "".join(f"<blockquote>{_e(quotes[i])}</blockquote>" for i in ids if i in quotes)
        q = f" <span class='n'>(q = {r.q_value:.3f})</span>" if pd.notna(r.q_value) else ""
        return (f"<li class='change {_e(r.change)}'><strong>{_e(r.change)}</strong>: {_e(r.summary)}{q}{link}"
                + (f"<details><summary>quotes</summary>{qs}</details>" if qs else "") + "</li>")

    counts = {k: int(((d["kind"] == "claim") & (d["change"] == k)).sum()) for k in ("appeared", "disappeared", "grew", "shrank")}
    out = [f"<h2 id='changes'>What changed: {_e(before)} → {_e(after)}</h2>",
           f"<p>{counts['appeared']} claims appeared, {counts['disappeared']} disappeared, {counts['grew']} grew, "
           f"{counts['shrank']} shrank; <strong>{len(reliable)} reliable change{'s' * (len(reliable) != 1)}</strong> "
           f"of {n_tested} tested.</p>",
           "<p class='sub'>Claims: share of the stage's participants who voiced it, Fisher's exact test; the emotion "
           "curve: participants' mean valence, Mann–Whitney U, bootstrap 95 % interval of the change; "
           "Benjamini–Hochberg across all tests, reliable = q &lt; 0.05. Every row is in changes.csv.</p>"]
    if len(reliable):
        out.append("<ul class='changes'>" + "".join(line(r) for r in reliable.itertuples()) + "</ul>")
    else:
        out.append("<p><strong>No reliable change</strong>: nothing moved more than noise would at these sample sizes.</p>")
    if len(rest):
        out.append("<p class='sub'>The largest changes seen, not reliable:</p><ul class='changes'>"
                   + "".join(line(r) for r in rest.itertuples()) + "</ul>")
    pains = d[(d["lane"] == "pain_points") & d["change"].isin(["grew", "appeared", "shrank", "disappeared"])]
    if len(pains):
        pains = pains.reindex(pains["difference"].abs().fillna(0).sort_values(ascending=False, kind="stable").index)
        rose = pains[pains["change"].isin(["grew", "appeared"])].head(5)
        fell = pains[pains["change"].isin(["shrank", "disappeared"])].head(5)
        out.append("<h3>Pain points that rose or fell</h3><ul class='changes'>"
                   + "".join(line(r) for r in rose.itertuples()) + "".join(line(r) for r in fell.itertuples()) + "</ul>")
    return "\n".join(out)


def changes_page(ch: "Changes") -> str:
    """A standalone, offline page of a diff (``workbench map diff --out``)."""
    style = ("body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}"
             ".n,.sub{color:#666} blockquote{margin:.3em 0 .3em 1em;padding:.2em .6em;border-left:3px solid #ccc;"
             "background:#f6f6f6;white-space:pre-wrap} li.change{margin:.4em 0} li.change strong{text-transform:uppercase;"
             "font-size:12px}")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>What changed: {_e(ch.before)} → {_e(ch.after)}</title><style>{style}</style></head><body>"
            + changes_html(ch.table, ch.before, ch.after, ch.quotes) + "</body></html>\n")


def goals_chart(history: pd.DataFrame) -> alt.Chart:
    """Each goal's measure across snapshots, with its 95 % interval: one small panel per goal."""
    h = history.dropna(subset=["value"]).copy()
    h["goal"] = h["name"] + " (" + h["stage"] + ", " + h["measure"] + ", " + h["better"] + " is better)"
    base = alt.Chart(h).encode(x=alt.X("snapshot:N", sort=list(dict.fromkeys(h["snapshot"])), title=None))
    line = base.mark_line(point=True).encode(y=alt.Y("value:Q", title=None),
                                             tooltip=["goal:N", "snapshot:N", alt.Tooltip("value:Q", format=".3f"),
                                                      alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f"),
                                                      "n:Q"])
    band = base.mark_errorbar().encode(y="low:Q", y2="high:Q")
    return alt.layer(band, line).properties(width=220, height=120).facet(
        facet=alt.Facet("goal:N", title=None), columns=3).resolve_scale(y="independent")


def goals_html(history: pd.DataFrame) -> str:
    """The goals across snapshots as a table (the chart goes beside it)."""
    if history.empty:
        return ""
    rows = "".join(f"<tr><td>{_e(r.name)}</td><td>{_e(r.stage)}</td><td>{_e(r.measure)}</td><td>{_e(r.snapshot)}</td>"
                   f"<td>{'—' if pd.isna(r.value) else f'{r.value:.3f}'}</td>"
                   f"<td>{'' if pd.isna(r.low) else f'[{r.low:.3f}, {r.high:.3f}]'}</td><td>{int(r.n)}</td></tr>"
                   for r in history.itertuples())
    return ("<h2 id='goals'>Goals across snapshots</h2><table class='goals'><thead><tr><th>goal</th><th>stage</th>"
            "<th>measure</th><th>snapshot</th><th>value</th><th>95 % interval</th><th>n</th></tr></thead><tbody>"
            + rows + "</tbody></table>")


__all__ = ["Changes", "groups_html", "changes_html", "changes_page", "goals_chart", "goals_html"]
