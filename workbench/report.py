"""The journey-map report: one offline HTML file plus PNG/SVG, CSVs and the settings used.

    >>> write_report(build_map(store), Path("out/report"))        # doctest: +SKIP

``report.html`` is self-contained: Vega, Vega-Lite and Vega-Embed are inlined (from the
``vl-convert-python`` package, no CDN), the map is also an accessible HTML table, and an
evidence section ties every claim to its quotes and every quote back to its claims. All user
text is HTML-escaped, and chart specs are embedded as JSON with ``<``, ``>`` and ``&`` escaped,
so a quote can never close the script element it travels in. No timestamps or absolute paths go
into the outputs: the same study and settings give byte-identical files.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import __version__, charts
from .errors import WorkbenchError
from .files import atomic_write, atomic_write_many
from .journey import LANE_LABELS, LANES, JourneyMap, compare_maps

QUOTES_PER_CLAIM = 25   # listed under each claim in the HTML; every id is in claims.csv


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _spec_json(chart) -> str:
    spec = chart.to_dict()
    spec.pop("$schema", None)  # a URL; the embed call names the mode instead
    spec = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return spec.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;padding:0 24px 64px;color:#1a1a1a}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd} .sub{color:#555}
table.map{border-collapse:collapse;width:100%;table-layout:fixed;font-size:13px}
table.map th,table.map td{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
table.map thead th{background:#eef3f8} table.map tbody th{background:#f6f6f6;width:9em}
ul.claims{margin:0;padding-left:1.1em} .n{color:#555;font-size:.9em;white-space:nowrap}
.thin{color:#a33;font-size:.85em} .moment{color:#7a1f1f} .unrev{color:#8a6d00;font-size:.85em}
blockquote{margin:.6em 0;padding:.4em .8em;border-left:4px solid #3465a4;background:#f7f9fc;white-space:pre-wrap;overflow-wrap:anywhere}
.meta{color:#555;font-size:.85em} .chart{margin:1em 0} section.claim{margin:1.2em 0}
:target{outline:3px solid #f0b400}
@media (prefers-color-scheme: dark){body{background:#161616;color:#e6e6e6}table.map thead th,table.map tbody th{background:#2a2a2a}
blockquote{background:#1f2530} .meta,.n,.sub{color:#aaa}}
"""


def _claim_anchor(claim_id: str) -> str:
    return "claim-" + claim_id


def _curve_item(p) -> str:
    """The feeling cell's summary of the emotion curve at a stage."""
    parts = []
    if p.mean is not None:
        ci = f" [{p.low:+.2f}, {p.high:+.2f}]" if p.low is not None else ""
        parts.append(f'<strong>mean valence {p.mean:+.2f}</strong>{_e(ci)} <span class="n">n={p.n} emotional</span>')
    parts.append(f'<span class="n">{p.share_negative:.0%} negative · {p.share_positive:.0%} positive of {p.n_all}</span>')
    if p.moment:
        parts.append(f'<strong class="moment">{"▼" if p.moment == "drop" else "▲"} moment of truth: largest {_e(p.moment)} '
                     f'({p.change:+.2f})</strong>')
    return "<li>" + "<br>".join(parts) + "</li>"


def _checks_html(jm: JourneyMap) -> str:
    c = jm.checks.get("valence_vs_csat")
    if not c:
        return ""
    if "spearman" not in c:
        return f'<p class="sub">Valence vs CSAT: {c["n_conversations"]} conversations with a CSAT, too few to correlate.</p>'
    return (f'<p class="sub">Check against the customers\' own ratings: per conversation, mean valence of the customer\'s '
            f'excerpts vs its CSAT — Spearman {c["spearman"]:+.2f} (Pearson {c["pearson"]:+.2f}), '
            f'{c["n_conversations"]} conversations.</p>')


def _differences_html(differences: pd.DataFrame) -> str:
    """Reliable differences (q < 0.05), or a plain statement that there are none, with what was tested."""
    if differences.empty:
        return "<p>No reliable differences: no code was voiced often enough in these segments to test.</p>"
    n = len(differences)
    how = (f'<p class="sub">{n} tests (per stage: each code, by participants, Fisher\'s exact; the emotion curve, '
           "Mann–Whitney U), Benjamini–Hochberg false discovery rate across them; reliable = q &lt; 0.05. "
           "All tests, with p, q and effect sizes, are in differences.csv.</p>")
    reliable = differences[differences["reliable"].astype(bool)]
    if reliable.empty:
        top = differences.head(3)
        gaps = "".join(f"<li>{_e(r.summary)} <span class='n'>(p = {r.p_value:.3f}, q = {r.q_value:.2f})</span></li>"
                       for r in top.itertuples())
        return (f"<p><strong>No reliable differences</strong> between these segments (smallest q = "
                f"{differences['q_value'].min():.2f}).</p>{how}<p class='sub'>The largest gaps seen, not reliable "
                f"at this sample size:</p><ul>{gaps}</ul>")
    items = "".join(f"<li>{_e(r.summary)} <span class='n'>(effect {r.effect:.2f}, q = {r.q_value:.3f}; "
                    f"{len(r.evidence_ids.split(';'))} excerpts)</span></li>" for r in reliable.itertuples())
    return f"<ul>{items}</ul>{how}"


def render_html(jm: JourneyMap, js_bundle: str, compare: Sequence[JourneyMap] = (), differences: pd.DataFrame | None = None) -> str:
    labels = dict(jm.stages)
    cells: dict[tuple[str, str], list] = {}
    for c in jm.claims:
        cells.setdefault((c.stage, c.lane), []).append(c)
    backlinks: dict[str, list] = {}
    for c in jm.claims:
        for i in c.evidence[:QUOTES_PER_CLAIM]:
            backlinks.setdefault(i, []).append(c)
    title = f"Journey map — {jm.segment or 'all segments'}"
    n_part = jm.evidence["participant"].nunique()
    unrev = sum(c.unreviewed * c.n_excerpts for c in jm.claims) / max(1, sum(c.n_excerpts for c in jm.claims))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)} · {_e(jm.study)}</title>", f"<style>{_CSS}</style>",
           f"<script>{js_bundle}</script>", "</head><body>",
           f"<h1>{_e(title)}</h1>",
           f'<p class="sub">Study: {_e(jm.study)} · stage model <code>{_e(jm.stage_model)}</code> v{_e(jm.stage_model_version)} · '
           f"{len(jm.evidence)} customer excerpts from {n_part} participants/conversations · "
           f"{unrev:.0%} of the evidence is machine-suggested and not yet reviewed · coders: {_e(', '.join(jm.coders))}</p>",
           '<p class="sub">Every claim shows its support (excerpts · participants); <span class="thin">thin</span> marks a '
           "claim from one participant. Click a claim for its quotes; each quote links back to the claims it supports.</p>"]
    for note in jm.notes:
        out.append(f'<p class="sub">Note: {_e(note)}</p>')
    out.append('<h2 id="charts">Charts</h2>')
    out.append(_checks_html(jm))
    specs = [("grid", charts.journey_grid(jm)), ("curve", charts.emotion_curve(jm)), ("shares", charts.sentiment_shares(jm)),
             ("pain", charts.pain_heat(jm))]
    if compare and differences is not None:
        specs.append(("compare", charts.comparison_chart(compare, differences)))
    for name, _ in specs:
        out.append(f'<div class="chart" id="chart-{name}"></div>')
    # the map as an accessible table
    out.append('<h2 id="map">The map</h2>')
    out.append(f'<table class="map"><caption class="sub">{_e(title)}: stages (columns) × lanes (rows)</caption><thead><tr>'
               '<th scope="col">Lane</th>' + "".join(f'<th scope="col">{_e(lbl)}</th>' for _, lbl in jm.stages) + "</tr></thead><tbody>")
    curve = {p.stage: p for p in jm.curve}
    for lane in LANES:
        out.append(f'<tr><th scope="row">{_e(LANE_LABELS[lane])}</th>')
        for stage, _ in jm.stages:
            items = []
            if lane == "feeling" and curve[stage].n_all:
                items.append(_curve_item(curve[stage]))
            for c in cells.get((stage, lane), []):
                flags = (' <span class="thin">thin</span>' if c.thin else "") + \
                        (f' <span class="unrev">{c.unreviewed:.0%} unreviewed</span>' if c.unreviewed and unrev < 1 else "")
                detail = f" — {_e(c.detail)}" if c.detail else ""
                items.append(f'<li id="{_e(_claim_anchor(c.claim_id))}"><a href="#ev-{_e(c.claim_id)}">{_e(c.text)}</a>{detail} '
                             f'<span class="n">{c.n_excerpts} · {c.n_participants}</span>{flags}</li>')
            out.append("<td>" + (f'<ul class="claims">{"".join(items)}</ul>' if items else "") + "</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    if compare and differences is not None:
        out.append('<h2 id="differences">Differences between segments</h2>')
        out.append(_differences_html(differences))
    # evidence: claims → quotes
    out.append('<h2 id="evidence">Evidence</h2>')
    for c in jm.claims:
        shown = c.evidence[:QUOTES_PER_CLAIM]
        out.append(f'<section class="claim" id="ev-{_e(c.claim_id)}"><h3>{_e(labels[c.stage])} · {_e(LANE_LABELS[c.lane])}: '
                   f'<a href="#{_e(_claim_anchor(c.claim_id))}">{_e(c.text)}</a></h3>'
                   f'<p class="meta">{c.n_excerpts} excerpts · {c.n_participants} participants'
                   + (f" · showing {len(shown)}; all {c.n_excerpts} ids in claims.csv" if len(shown) < c.n_excerpts else "")
                   + "</p>")
        for i, q in zip(shown, jm.evidence_rows(shown).to_dict("records")):
            others = [o for o in backlinks.get(i, []) if o.claim_id != c.claim_id]
            links = " ".join(f'<a href="#{_e(_claim_anchor(o.claim_id))}">{_e(o.text)}</a>' for o in others[:8])
            out.append(f'<blockquote id="q-{_e(c.claim_id)}-{_e(i)}">{_e(q["quote"])}</blockquote>'
                       f'<p class="meta">{_e(q["source_name"])} · {_e(q["speaker"])} · segment {_e(q["segment"] or "—")} · '
                       f'characters {int(q["start"])}–{int(q["end"])} · <code>{_e(i)}</code>'
                       + (f" · also supports: {links}" if links else "") + "</p>")
        out.append("</section>")
    out.append(f'<p class="meta">Made with Journey Workbench {_e(__version__)}; settings in study.json.</p>')
    embeds = "".join(f'vegaEmbed("#chart-{name}", {_spec_json(chart)}, {{"actions": false, "renderer": "svg", "mode": "vega-lite"}});'
                     for name, chart in specs)
    out.append(f"<script>{embeds}</script></body></html>")
    return "\n".join(out) + "\n"


_BUNDLE: str | None = None


def js_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script, for an offline report.

    vl-convert builds the bundle in about a second; it is cached per vl-convert version in the user's
    cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``journey-workbench/``), and rebuilt when
    that folder cannot be written or the file is not the bundle.
    """
    global _BUNDLE
    if _BUNDLE is None:
        import vl_convert
        version = getattr(vl_convert, "__version__", "unknown")
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "journey-workbench" / \
            f"vega-bundle-{re.sub(r'[^0-9A-Za-z.]+', '_', version)}.js"
        text = None
        try:
            text = cache.read_text(encoding="utf-8")
            if not text.endswith("\n/* journey-workbench: complete */\n"):
                text = None
        except (OSError, UnicodeDecodeError):
            pass
        if text is None:
            text = vl_convert.javascript_bundle().replace("</script", "<\\/script") + "\n/* journey-workbench: complete */\n"
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(cache, text)
            except WorkbenchError:
                pass                                         # a read-only home: build it each time
        _BUNDLE = text
    return _BUNDLE


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV (RFC 4180 quoting, "\\n" line ends, missing values empty), faster than DataFrame.to_csv."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(frame.columns)
    w.writerows(zip(*(frame[c].astype(object).where(frame[c].notna(), "").tolist() for c in frame.columns)))
    return buf.getvalue()


def write_report(jm: JourneyMap, out: Path, compare: Sequence[JourneyMap] = (), images: bool = True) -> dict[str, Path]:
    """Write report.html, map.png, map.svg, claims.csv, curve.csv, evidence.csv and study.json into ``out``.

    Everything is rendered first, then written as one set (:func:`~workbench.files.atomic_write_many`):
    a crash or a full disk leaves the folder as it was.
    """
    import vl_convert

    out.mkdir(parents=True, exist_ok=True)
    differences = compare_maps(compare) if compare else None
    files = {}
    claims = jm.claims_frame()[["claim_id", "stage", "lane", "text", "n_excerpts", "n_participants", "evidence_ids"]]
    evidence = jm.evidence[["excerpt_id", "source_id", "source_name", "speaker", "start", "end", "quote"]]
    files["claims.csv"] = csv_text(claims)
    files["curve.csv"] = csv_text(jm.curve_frame())
    files["evidence.csv"] = csv_text(evidence)
    if differences is not None:
        files["differences.csv"] = csv_text(differences)
    files["study.json"] = json.dumps({
        "study": jm.study, "settings": jm.settings, "compare": [m.segment for m in compare],
        "stage_model": {"name": jm.stage_model, "version": jm.stage_model_version, "stages": [s for s, _ in jm.stages]},
        "codebooks": jm.codebooks, "coders": jm.coders, "workbench": __version__,
        "counts": {"excerpts": int(len(jm.evidence)), "participants": int(jm.evidence["participant"].nunique()),
                   "claims": len(jm.claims)}, "notes": jm.notes, "checks": jm.checks}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    files["report.html"] = render_html(jm, js_bundle(), compare, differences)
    if images:
        spec = charts.map_chart(jm).to_dict()
        files["map.svg"] = charts.stable_svg_ids(vl_convert.vegalite_to_svg(spec))
        files["map.png"] = vl_convert.vegalite_to_png(spec, scale=2)
    return atomic_write_many(out, files)


__all__ = ["write_report", "render_html", "js_bundle", "QUOTES_PER_CLAIM"]
