"""The journey-map report: one offline HTML file plus PNG/SVG/PDF of the map, CSVs and the settings used.

    >>> write_report(build_map(store), Path("out/report"))        # doctest: +SKIP

``report.html`` is written for stakeholders and is self-contained (Vega, Vega-Lite and Vega-Embed
are inlined from the ``vl-convert-python`` package, no CDN). It opens with the map as an HTML
grid (stages × lanes, a table with header scopes) that fits a 1440 px screen: each cell shows its
top claims and is a button that opens a side panel with all the cell's claims and their quotes
(source, speaker, segment, character offsets). A search box filters every quote and marks the cells
that hold a match. The charts, the segment differences and the checks follow; the full evidence
appendix, every claim with its quotes and back-links, is a collapsed section at the end. Printed
(A3 landscape), the report is the map on one page; ``map.pdf`` is that page drawn from the map chart.

Stakeholder comments (``comments=``, :mod:`workbench.comments`) are shown under their claims and quotes,
in the panel and the appendix. A reader adds comments in the panel (a form per claim, on the claim or one of its quotes); they are listed
at the top of the page, kept in ``localStorage`` per study when the browser allows it, and downloaded
with "Download comments (JSON)" as one ``comments.json`` that ``workbench comments import`` takes back.

All user text is HTML-escaped; chart specs and the panel data are embedded as JSON with ``<``,
``>`` and ``&`` escaped, so a quote can never close the script element it travels in, and the
panel is built with DOM text nodes. No timestamps or absolute paths go into the outputs: the same
study and settings give byte-identical files.
"""
from __future__ import annotations

import concurrent.futures
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
from . import report_tracking as tracking
from .report_tracking import Changes
from .errors import WorkbenchError
from .files import atomic_write, atomic_write_many
from .journey import LANE_LABELS, LANES, Claim, CurvePoint, JourneyMap, compare_maps

QUOTES_PER_CLAIM = 25   # listed under each claim in the panel and the appendix; every id is in claims.csv
CELL_CLAIMS = 3         # claims shown in a map cell ("+k more" after them); the panel lists them all
CELL_CHARS = 110        # a claim's text in a cell is cut here (and to a few lines by CSS); the panel shows it whole
A3_LANDSCAPE = (1190.55, 841.89)   # map.pdf's page, in PDF points
PDF_MARGIN = 28.35                 # 10 mm


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _script_json(obj: object) -> str:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no text in it can close the element."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _spec_json(chart) -> str:
    spec = chart.to_dict()
    spec.pop("$schema", None)  # a URL; the embed call names the mode instead
    return _script_json(spec)


_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1400px;padding:0 20px 64px;color:#1a1a1a}
h1{font-size:1.5em;margin:.6em 0 .1em} h2{margin-top:2em;border-bottom:1px solid #ddd} .sub{color:#555;margin:.3em 0}
[hidden]{display:none!important}
.tools{display:flex;gap:.6em;align-items:center;margin:.6em 0;flex-wrap:wrap} .tools input{font:inherit;padding:3px 8px;width:22em}
#search-results{max-height:40vh;overflow:auto;margin:0 0 .8em;padding-left:1.4em;font-size:13px}
#search-results li{margin:.4em 0} #search-results blockquote{margin:.2em 0}
mark{background:#ffe08a;color:inherit}
table.map{border-collapse:collapse;width:100%;table-layout:fixed;font-size:12.5px;line-height:1.3}
table.map th,table.map td{border:1px solid #ccc;padding:0;vertical-align:top;text-align:left;overflow-wrap:anywhere}
table.map thead th,table.map tbody th{padding:4px 6px} table.map caption{text-align:left}
table.map thead th{background:#eef3f8} table.map tbody th{background:#f6f6f6;width:8.5em}
.cell{display:block;width:100%;min-height:100%;box-sizing:border-box;padding:4px 6px;margin:0;border:0;background:none;font:inherit;
color:inherit;text-align:left;cursor:pointer} div.cell{cursor:default}
button.cell:hover{background:#f2f6fb} button.cell:focus-visible{outline:3px solid #3465a4;outline-offset:-3px}
button.cell[aria-expanded=true]{background:#e3ecf7;box-shadow:inset 0 0 0 2px #3465a4}
button.cell.hit{background:#fff3c4;box-shadow:inset 0 0 0 3px #f0b400}
.c{display:block;margin-bottom:4px} .c .t{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}
.curve{display:block;margin-bottom:4px} .more{display:block;color:#3465a4;font-size:.9em}
.n{color:#555;font-size:.9em} .thin{color:#a33;font-size:.85em} .moment{color:#7a1f1f} .unrev{color:#8a6d00;font-size:.85em}
#panel{position:fixed;top:0;right:0;bottom:0;width:min(540px,42vw);overflow:auto;background:#fff;border-left:1px solid #bbb;
box-shadow:-6px 0 18px rgba(0,0,0,.18);padding:0 20px 32px;z-index:10;box-sizing:border-box}
#panel header{position:sticky;top:0;background:inherit;display:flex;justify-content:space-between;align-items:start;gap:1em;padding:12px 0 6px;border-bottom:1px solid #ddd}
#panel h2{margin:0;border:0;font-size:1.25em} #panel h3{font-size:1em;margin:1.2em 0 .2em;overflow-wrap:anywhere}
#panel ol{padding-left:1.3em} #panel-close{font:inherit;padding:2px 10px;cursor:pointer}
blockquote{margin:.6em 0;padding:.4em .8em;border-left:4px solid #3465a4;background:#f7f9fc;white-space:pre-wrap;overflow-wrap:anywhere}
.meta{color:#555;font-size:.85em;margin:.2em 0} .chart{margin:1em 0;overflow-x:auto} section.claim{margin:1.2em 0}
details#evidence{margin-top:2em} details#evidence>summary{cursor:pointer} details#evidence>summary h2{display:inline;border:0}
:target{outline:3px solid #f0b400}
.comments{list-style:none;padding-left:0;margin:.4em 0} .comments li{margin:.3em 0;padding:.2em .6em;border-left:3px solid #8a6d00;background:#fffbea}
.comments .meta{margin:0} .ctext{margin:0;white-space:pre-wrap;overflow-wrap:anywhere} .comments li.mine{border-left-style:dashed}
.cform{display:grid;gap:.25em;margin:.6em 0 1em;max-width:34em} .cform input,.cform textarea{font:inherit;padding:2px 6px}
.cform button,#comments-download,#my-comments button{font:inherit;padding:2px 10px;cursor:pointer;justify-self:start}
#my-comments{margin:0 0 .8em;padding-left:1.4em;font-size:13px} #my-comments li{margin:.3em 0}
@media (prefers-color-scheme: dark){body,#panel{background:#161616;color:#e6e6e6}table.map thead th,table.map tbody th{background:#2a2a2a}
button.cell:hover{background:#22282f} button.cell[aria-expanded=true]{background:#1f2a38} button.cell.hit{background:#3a3010}
blockquote{background:#1f2530} .meta,.n,.sub{color:#aaa} .more{color:#8fb3e0} .comments li{background:#2a2614}}
@page{size:A3 landscape;margin:10mm}
@media print{body{max-width:none;padding:0;font-size:11px;color:#000;background:#fff} h1{font-size:16px;margin:0 0 2px}
.notes,.legend,.tools,#search-results,#my-comments,#panel,.after-map{display:none!important}
table.map{font-size:8.5px;line-height:1.2;break-inside:avoid} table.map tbody th{width:7.5em} table.map caption{display:none}
.cell{padding:2px 4px} .c{margin-bottom:2px} .c .t{-webkit-line-clamp:2} button.cell.hit,button.cell[aria-expanded=true]{background:none;box-shadow:none}
tr{break-inside:avoid} *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# The side panel and the search: plain DOM, text only through textContent (never innerHTML).
_JS = """
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("map-data").textContent);
  const panel = document.getElementById("panel"), title = document.getElementById("panel-title");
  const body = document.getElementById("panel-body");
  const cellButton = i => document.getElementById("cell-" + i);
  let opener = null, shown = null;
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function quoteMeta(id) {
    const q = data.quotes[id];
    return el("p", "meta", [q.source, q.speaker, "segment " + (q.segment || "\\u2014"),
                            "characters " + q.start + "\\u2013" + q.end, id].join(" \\u00b7 "));
  }
  function openCell(i) {
    const cell = data.cells[i], button = cellButton(i);
    shown = i;
    if (opener && opener !== button) opener.setAttribute("aria-expanded", "false");
    opener = button;
    button.setAttribute("aria-expanded", "true");
    title.textContent = cell.title;
    body.replaceChildren();
    if (cell.summary) body.append(el("p", "sub", cell.summary));
    for (const cid of cell.claims) {
      const c = data.claims[cid], sec = el("section", "pclaim");
      sec.append(el("h3", null, c.text));
      if (c.detail) sec.append(el("p", null, c.detail));
      const meta = el("p", "meta", c.support);
      for (const f of c.flags) meta.append(" \\u00b7 ", el("span", f[0], f[1]));
      const all = el("a", null, "in the evidence appendix");
      all.href = "#ev-" + cid;
      meta.append(" \\u00b7 ", all);
      sec.append(meta);
      const list = el("ol", "quotes");
      const stored = data.comments[cid] || [];
      for (const id of c.quotes) {
        const li = el("li");
        li.append(el("blockquote", null, data.quotes[id].text), quoteMeta(id));
        const onQuote = stored.filter(k => k.excerpt_id === id);
        if (onQuote.length) li.append(commentList(onQuote));
        list.append(li);
      }
      sec.append(list);
      if (c.quotes.length < c.n) sec.append(el("p", "meta", "Showing " + c.quotes.length + " of " + c.n + " quotes; all ids in claims.csv."));
      sec.append(commentBox(cid, c, stored.filter(k => !k.excerpt_id || !c.quotes.includes(k.excerpt_id))));
      body.append(sec);
    }
    panel.hidden = false;
    panel.scrollTop = 0;
    title.focus();
  }
  // comments: the study's (in the data) and the reader's own, kept in this browser (when it lets the page)
  // and downloaded as one JSON file that `workbench comments import FILE --study S` takes back
  const KEY = "journey-workbench-comments:" + (data.study || location.pathname);
  let storage = null, mine = [], lastAuthor = "", forms = 0;
  try {
    storage = window.localStorage;
    storage.setItem(KEY + ":probe", "1");
    storage.removeItem(KEY + ":probe");
  } catch (err) {
    storage = null;
  }
  try {
    const kept = storage ? JSON.parse(storage.getItem(KEY) || "[]") : [];
    if (Array.isArray(kept)) mine = kept.filter(k => k && typeof k.claim_id === "string" && typeof k.author === "string" &&
                                                 typeof k.created === "string" && typeof k.text === "string");
    lastAuthor = (storage && storage.getItem(KEY + ":author")) || "";
  } catch (err) {
    mine = [];
  }
  function save() {
    if (!storage) return false;
    try {
      storage.setItem(KEY, JSON.stringify(mine));
      storage.setItem(KEY + ":author", lastAuthor);
      return true;
    } catch (err) {
      return false;
    }
  }
  const when = t => t.replace("T", " ").replace(/:\\d\\d(\\.\\d+)?Z$/, " UTC");
  function commentItem(k, own) {
    const li = el("li", own ? "mine" : null);
    li.append(el("p", "meta", [k.author, when(k.created)].concat(k.excerpt_id ? ["on quote " + k.excerpt_id] : [],
                                                               own ? ["added in this page"] : []).join(" \\u00b7 ")),
              el("p", "ctext", k.text));
    return li;
  }
  function commentList(items, own) {
    const ul = el("ul", "comments");
    items.forEach(k => ul.append(commentItem(k, own)));
    return ul;
  }
  function commentBox(cid, c, stored) {
    const box = el("div", "cbox"), ul = commentList(stored);
    mine.filter(k => k.claim_id === cid).forEach(k => ul.append(commentItem(k, true)));
    const form = el("form", "cform"), n = ++forms;
    form.setAttribute("aria-label", "Comment on: " + c.text);
    const who = el("input"), what = el("textarea"), add = el("button", null, "Add comment"), note = el("span", "meta");
    who.type = "text";
    who.id = "comment-author-" + n;
    who.maxLength = 200;
    who.autocomplete = "name";
    who.value = lastAuthor;
    what.id = "comment-text-" + n;
    what.rows = 3;
    what.maxLength = 10000;
    add.type = "submit";
    note.setAttribute("role", "status");
    const la = el("label", null, "Your name"), lt = el("label", null, "Comment");
    la.htmlFor = who.id;
    lt.htmlFor = what.id;
    // a comment is on the whole claim, or on one of its quotes shown above
    const on = el("select"), lo = el("label", null, "On");
    on.id = "comment-on-" + n;
    lo.htmlFor = on.id;
    on.append(new Option("the whole claim", ""));
    c.quotes.forEach((id, i) => {
      const t = data.quotes[id].text;
      on.append(new Option("quote " + (i + 1) + ": " + (t.length > 70 ? t.slice(0, 70) + "\u2026" : t), id));
    });
    form.append(la, who, lo, on, lt, what, add, note);
    form.addEventListener("submit", e => {
      e.preventDefault();
      const author = who.value.trim().split(/\\s+/).join(" "), text = what.value.trim();
      if (!author || !text) {
        note.textContent = author ? "Write a comment first." : "Write your name first.";
        (author ? what : who).focus();
        return;
      }
      const k = {claim_id: cid, excerpt_id: on.value || null, author: author, text: text,
                 created: new Date().toISOString().replace(/\\.\\d+Z$/, "Z")};
      mine.push(k);
      lastAuthor = author;
      const kept = save();
      ul.append(commentItem(k, true));
      ul.hidden = false;
      what.value = "";
      note.textContent = kept ? "Added, and kept in this browser. Download the comments (JSON) to send them back."
                              : "Added to this page only (this browser does not let it keep them): download the comments (JSON) before closing it.";
      showMine();
    });
    ul.hidden = ul.children.length === 0;
    box.append(el("h4", null, "Comments"), ul, form);
    return box;
  }
  const myList = document.getElementById("my-comments"), download = document.getElementById("comments-download");
  const myStatus = document.getElementById("comments-status");
  function showMine() {
    myList.replaceChildren();
    mine.forEach((k, at) => {
      const li = commentItem(k, true), gone = el("button", null, "Remove");
      const claim = data.claims[k.claim_id];
      gone.type = "button";
      gone.setAttribute("aria-label", "Remove your comment: " + k.text.slice(0, 60));
      gone.addEventListener("click", () => {
        mine.splice(at, 1);
        save();
        showMine();
        if (!panel.hidden && shown !== null) openCell(shown);
      });
      li.prepend(el("p", "meta", "On: " + (claim ? claim.text : k.claim_id)));
      li.append(gone);
      myList.append(li);
    });
    myList.hidden = mine.length === 0;
    download.disabled = mine.length === 0;
    myStatus.textContent = mine.length ? mine.length + (mine.length === 1 ? " comment" : " comments") + " added in this page" +
      (storage ? " (kept in this browser)" : " (not kept after closing: download them)") + "." : "";
  }
  download.addEventListener("click", () => {
    const doc = {format: "journey-workbench-comments", version: 1, study: data.study,
                 comments: mine.map(k => ({claim_id: k.claim_id, excerpt_id: k.excerpt_id || null, author: k.author,
                                           created: k.created, text: k.text}))};
    const a = el("a");
    a.href = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2) + "\\n"], {type: "application/json"}));
    a.download = "comments.json";
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
  showMine();
  function closePanel() {
    panel.hidden = true;
    if (opener) {
      opener.setAttribute("aria-expanded", "false");
      opener.focus();
    }
  }
  document.querySelectorAll("button.cell").forEach(b => b.addEventListener("click", () => openCell(b.dataset.cell)));
  document.getElementById("panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", e => {
    if (e.key === "Escape" && !panel.hidden) {
      e.preventDefault();
      closePanel();
    }
  });
  // a link into the collapsed appendix opens it first
  function reveal(id) {
    const target = id && document.getElementById(id), box = target && target.closest("details");
    if (box && !box.open) box.open = true;
    return target;
  }
  document.addEventListener("click", e => {
    const a = e.target.closest && e.target.closest("a[href^='#']");
    if (a) reveal(decodeURIComponent(a.getAttribute("href").slice(1)));
  }, true);
  const initial = location.hash && reveal(decodeURIComponent(location.hash.slice(1)));
  if (initial) initial.scrollIntoView();
  // search over every quote, in map order
  const order = [], claimsOf = {};
  data.cells.forEach((cell, i) => cell.claims.forEach(cid => data.claims[cid].quotes.forEach(id => {
    if (!claimsOf[id]) { claimsOf[id] = []; order.push(id); }
    claimsOf[id].push([cid, i]);
  })));
  const lower = {};
  order.forEach(id => { lower[id] = data.quotes[id].text.toLowerCase(); });
  const input = document.getElementById("search"), status = document.getElementById("search-status");
  const results = document.getElementById("search-results"), SHOWN = 50;
  function marked(text, low, term) {
    const q = el("blockquote");
    let at = 0;
    if (low.length === text.length) {
      for (let k = low.indexOf(term); k >= 0; k = low.indexOf(term, at)) {
        q.append(text.slice(at, k), el("mark", null, text.slice(k, k + term.length)));
        at = k + term.length;
      }
    }
    q.append(text.slice(at));
    return q;
  }
  function search() {
    const term = input.value.trim().toLowerCase();
    document.querySelectorAll("button.cell.hit").forEach(b => b.classList.remove("hit"));
    results.replaceChildren();
    if (term.length < 2) {
      results.hidden = true;
      status.textContent = "";
      return;
    }
    const hits = order.filter(id => lower[id].includes(term)), cells = new Set();
    hits.forEach(id => claimsOf[id].forEach(([, i]) => cells.add(i)));
    cells.forEach(i => cellButton(i).classList.add("hit"));
    for (const id of hits.slice(0, SHOWN)) {
      const li = el("li");
      li.append(marked(data.quotes[id].text, lower[id], term), quoteMeta(id));
      const where = el("p", "meta", "Supports: ");
      claimsOf[id].forEach(([cid, i], k) => {
        const go = el("a", null, data.claims[cid].text + " (" + data.cells[i].title + ")");
        go.href = "#cell-" + i;
        go.addEventListener("click", e => { e.preventDefault(); openCell(i); });
        where.append(k ? "; " : "", go);
      });
      li.append(where);
      results.append(li);
    }
    status.textContent = hits.length + (hits.length === 1 ? " quote matches" : " quotes match") + ", in " + cells.size +
      (cells.size === 1 ? " cell" : " cells") + (hits.length > SHOWN ? "; the first " + SHOWN + " are listed" : "") + ".";
    results.hidden = hits.length === 0;
  }
  input.addEventListener("input", search);
})();
"""


def _claim_anchor(claim_id: str) -> str:
    return "claim-" + claim_id


def _curve_parts(p: CurvePoint) -> tuple[str | None, str, str | None]:
    """The emotion curve at a stage as text: mean valence with its interval (None without one), the
    negative/positive shares, the moment of truth (None if none) — for the cell and the side panel."""
    mean = None
    if p.mean is not None:
        mean = f"{p.mean:+.2f}" + (f" [{p.low:+.2f}, {p.high:+.2f}]" if p.low is not None else "")
    shares = f"{p.share_negative:.0%} negative · {p.share_positive:.0%} positive of {p.n_all}"
    moment = f"{'▼' if p.moment == 'drop' else '▲'} moment of truth: largest {p.moment} ({p.change:+.2f})" if p.moment else None
    return mean, shares, moment


def _curve_item(p: CurvePoint) -> str:
    """The feeling cell's summary of the emotion curve at a stage."""
    mean, shares, moment = _curve_parts(p)
    parts = []
    if mean is not None:
        value, _, ci = mean.partition(" ")
        parts.append(f'<strong>mean valence {value}</strong>{_e(" " + ci if ci else "")} <span class="n">n={p.n} emotional</span>')
    parts.append(f'<span class="n">{shares}</span>')
    if moment is not None:
        parts.append(f'<strong class="moment">{_e(moment)}</strong>')
    return '<span class="curve">' + "<br>".join(parts) + "</span>"


def _curve_text(p: CurvePoint) -> str:
    """The same summary as plain text, for the side panel."""
    mean, shares, moment = _curve_parts(p)
    return " · ".join(([f"Mean valence {mean}, n={p.n} emotional excerpts"] if mean is not None else []) + [shares] +
                      ([moment] if moment is not None else []))


def _cut(text: str, n: int = CELL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _support(c: Claim) -> str:
    return f"{c.n_excerpts} excerpt{'s' * (c.n_excerpts != 1)} · {c.n_participants} participant{'s' * (c.n_participants != 1)}"


def _text(value: object) -> str:
    """A field of the evidence as text, a missing one (None, NaN) as "" (NaN is not JSON and no segment is "nan")."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


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


def _cell_html(index: int, title: str, claims: list[Claim], curve: str, unrev: float) -> str:
    """A map cell: its top claims, cut short, as a button that opens the panel; a cell with no claim is plain text."""
    items = [curve] if curve else []
    for c in claims[:CELL_CLAIMS]:
        flags = (' <span class="thin">thin</span>' if c.thin else "") + \
                (f' <span class="unrev">{c.unreviewed:.0%} unreviewed</span>' if c.unreviewed and unrev < 1 else "")
        items.append(f'<span class="c"><span class="t">{_e(_cut(c.text))}</span><span class="n">{_support(c)}</span>{flags}</span>')
    if len(claims) > CELL_CLAIMS:
        items.append(f'<span class="more">+{len(claims) - CELL_CLAIMS} more</span>')
    if not claims:
        return f'<div class="cell">{"".join(items)}</div>' if items else ""
    name = f"{title}: {len(claims)} claim{'s' * (len(claims) != 1)}"
    return (f'<button type="button" class="cell" id="cell-{index}" data-cell="{index}" aria-controls="panel" aria-expanded="false" '
            f'aria-label="{_e(name)}">{"".join(items)}</button>')


def _comments_by_claim(comments: pd.DataFrame | None, claim_ids: set[str]) -> dict[str, list[dict]]:
    """The stored comments on this map's claims, per claim id, oldest first: ``excerpt_id`` (or None), author, created, text."""
    out: dict[str, list[dict]] = {}
    if comments is None or not len(comments):
        return out
    cols = ["claim_id", "excerpt_id", "author", "created", "text"]
    frame = comments[[c for c in cols if c in comments.columns]]
    for r in frame.sort_values(["claim_id", "created"], kind="stable").to_dict("records"):
        if r["claim_id"] in claim_ids:
            out.setdefault(r["claim_id"], []).append({"excerpt_id": _text(r.get("excerpt_id")) or None, "author": _text(r["author"]),
                                                      "created": _text(r["created"]), "text": _text(r["text"])})
    return out


def _when(created: str) -> str:
    """A comment's UTC time as the page shows it: ``2024-05-01 09:30 UTC``."""
    return re.sub(r":\d\d(\.\d+)?(Z|\+00:00)$", " UTC", created.replace("T", " "))


def _comments_html(items: list[dict], quote: bool = False) -> str:
    """Stored comments as an escaped list (``quote``: say which quote a claim-level listing's comment is on)."""
    if not items:
        return ""
    li = "".join(f'<li><p class="meta">{_e(k["author"])} · {_e(_when(k["created"]))}'
                 + (f' · on quote <code>{_e(k["excerpt_id"])}</code>' if quote and k["excerpt_id"] else "")
                 + f'</p><p class="ctext">{_e(k["text"])}</p></li>' for k in items)
    return f'<ul class="comments" aria-label="Comments">{li}</ul>'


def render_html(jm: JourneyMap, js_bundle: str, compare: Sequence[JourneyMap] = (), differences: pd.DataFrame | None = None,
                comments: pd.DataFrame | None = None, changes: "Changes | None" = None,
                goals: pd.DataFrame | None = None) -> str:
    """report.html of a map. ``comments`` (:func:`workbench.comments.list_comments`) are shown under their
    claims and quotes, in the evidence appendix and the side panel."""
    labels = dict(jm.stages)
    cells: dict[tuple[str, str], list] = {}
    for c in jm.claims:
        cells.setdefault((c.stage, c.lane), []).append(c)
    backlinks: dict[str, list] = {}
    for c in jm.claims:
        for i in c.evidence[:QUOTES_PER_CLAIM]:
            backlinks.setdefault(i, []).append(c)
    rows = {c.claim_id: jm.evidence_rows(c.evidence[:QUOTES_PER_CLAIM]).to_dict("records") for c in jm.claims}
    curve = {p.stage: p for p in jm.curve}
    title = f"Journey map — {jm.group or jm.segment or 'all segments'}"
    n_part = jm.evidence["participant"].nunique()
    unrev = sum(c.unreviewed * c.n_excerpts for c in jm.claims) / max(1, sum(c.n_excerpts for c in jm.claims))
    said = _comments_by_claim(comments, {c.claim_id for c in jm.claims})

    # the panel's data: each quote once, claims point to them, cells to claims
    quotes: dict[str, dict] = {}
    panel_claims: dict[str, dict] = {}
    panel_cells: list[dict] = []
    grid: dict[tuple[str, str], str] = {}
    for lane in LANES:
        for stage, _ in jm.stages:
            cs = cells.get((stage, lane), [])
            point = curve[stage] if lane == "feeling" and curve[stage].n_all else None
            cell_title = f"{labels[stage]} · {LANE_LABELS[lane]}"
            grid[stage, lane] = _cell_html(len(panel_cells), cell_title, cs, _curve_item(point) if point else "", unrev)
            if not cs:
                continue
            for c in cs:
                for q in rows[c.claim_id]:
                    quotes.setdefault(q["excerpt_id"], {
                        "text": _text(q["quote"]), "source": _text(q["source_name"]), "speaker": _text(q["speaker"]),
                        "segment": _text(q["segment"]), "start": int(q["start"]), "end": int(q["end"])})
                flags = ([["thin", "thin: one participant"]] if c.thin else []) + \
                        ([["unrev", f"{c.unreviewed:.0%} unreviewed"]] if c.unreviewed and unrev < 1 else [])
                panel_claims[c.claim_id] = {"text": c.text, "detail": c.detail, "support": _support(c), "flags": flags,
                                            "n": c.n_excerpts, "quotes": [q["excerpt_id"] for q in rows[c.claim_id]]}
            panel_cells.append({"title": cell_title, "claims": [c.claim_id for c in cs],
                                "summary": _curve_text(point) if point else ""})

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)} · {_e(jm.study)}</title>", f"<style>{_CSS}</style>",
           f"<script>{js_bundle}</script>", "</head><body>",
           f"<h1>{_e(title)}</h1>",
           f'<p class="sub">Study: {_e(jm.study)} · stage model <code>{_e(jm.stage_model)}</code> v{_e(jm.stage_model_version)} · '
           f"{len(jm.evidence)} customer excerpts from {n_part} participants/conversations · {len(jm.claims)} claims · "
           f"{unrev:.0%} of the evidence is machine-suggested and not yet reviewed · coders: {_e(', '.join(jm.coders))}</p>"]
    out += [f'<p class="sub notes">Note: {_e(note)}</p>' for note in jm.notes]
    out.append('<p class="sub legend">Each cell shows its top claims with their support (excerpts · participants); '
               '<span class="thin">thin</span> marks a claim from one participant. Click a cell (or focus it and press Enter) '
               "for all its claims and their quotes.</p>")
    # the map: a table whose cells are buttons
    out.append('<section id="map" aria-label="The map">')
    out.append('<div class="tools"><label for="search">Search quotes</label>'
               '<input type="search" id="search" autocomplete="off" placeholder="a word or phrase from the quotes">'
               '<span id="search-status" class="sub" role="status" aria-live="polite"></span>'
               '<button type="button" id="comments-download" disabled>Download comments (JSON)</button>'
               '<span id="comments-status" class="sub" role="status" aria-live="polite"></span></div>'
               '<ol id="search-results" aria-label="Matching quotes" hidden></ol>'
               '<ol id="my-comments" aria-label="Your comments, added in this page" hidden></ol>')
    out.append(f'<table class="map"><caption class="sub">{_e(title)}: stages (columns) × lanes (rows)</caption><thead><tr>'
               '<th scope="col">Lane</th>' + "".join(f'<th scope="col">{_e(lbl)}</th>' for _, lbl in jm.stages) + "</tr></thead><tbody>")
    for lane in LANES:
        out.append(f'<tr><th scope="row">{_e(LANE_LABELS[lane])}</th>'
                   + "".join(f"<td>{grid[stage, lane]}</td>" for stage, _ in jm.stages) + "</tr>")
    out.append("</tbody></table></section>")
    out.append('<aside id="panel" role="dialog" aria-modal="false" aria-labelledby="panel-title" hidden><header>'
               '<h2 id="panel-title" tabindex="-1"></h2><button type="button" id="panel-close" aria-label="Close the panel">Close</button>'
               '</header><div id="panel-body"></div></aside>')

    out.append('<div class="after-map">')
    out.append('<h2 id="charts">Charts</h2>')
    out.append(_checks_html(jm))
    specs = [("grid", charts.journey_grid(jm)), ("curve", charts.emotion_curve(jm)), ("shares", charts.sentiment_shares(jm)),
             ("pain", charts.pain_heat(jm))]
    if compare and differences is not None:
        specs.append(("compare", charts.comparison_chart(compare, differences)))
    if goals is not None and len(goals) and goals["value"].notna().any():
        specs.append(("goals", tracking.goals_chart(goals)))
    for name, _ in specs:
        out.append(f'<div class="chart" id="chart-{name}"></div>')
    if compare and differences is not None:
        by = jm.group_by or compare[0].group_by
        out.append('<h2 id="differences">Differences between ' + (f"groups (by {_e(by)})" if by and by != "segment" else "segments") + "</h2>")
        out.append(_differences_html(differences))
        out.append(tracking.groups_html(compare, by))
    if changes is not None:
        out.append(tracking.changes_html(changes.table, changes.before, changes.after, changes.quotes,
                                         {c.claim_id for c in jm.claims}, _claim_anchor))
    if goals is not None and len(goals):
        out.append(tracking.goals_html(goals))
    # the appendix: claims → quotes, quotes → the other claims they support
    out.append(f'<details id="evidence"><summary><h2>Evidence: every claim with its quotes ({len(jm.claims)} claims)</h2></summary>')
    for c in jm.claims:
        shown = rows[c.claim_id]
        out.append(f'<section class="claim" id="ev-{_e(c.claim_id)}"><h3 id="{_e(_claim_anchor(c.claim_id))}">'
                   f'{_e(labels[c.stage])} · {_e(LANE_LABELS[c.lane])}: {_e(c.text)}</h3>'
                   f'<p class="meta">{c.n_excerpts} excerpts · {c.n_participants} participants'
                   + (f" · showing {len(shown)}; all {c.n_excerpts} ids in claims.csv" if len(shown) < c.n_excerpts else "")
                   + ' · <a href="#map">back to the map</a></p>')
        on_claim = said.get(c.claim_id, [])
        shown_ids = {q["excerpt_id"] for q in shown}
        out.append(_comments_html([k for k in on_claim if k["excerpt_id"] not in shown_ids], quote=True))
        for q in shown:
            i = q["excerpt_id"]
            others = [o for o in backlinks.get(i, []) if o.claim_id != c.claim_id]
            links = " ".join(f'<a href="#{_e(_claim_anchor(o.claim_id))}">{_e(o.text)}</a>' for o in others[:8])
            out.append(f'<blockquote id="q-{_e(c.claim_id)}-{_e(i)}">{_e(q["quote"])}</blockquote>'
                       f'<p class="meta">{_e(q["source_name"])} · {_e(q["speaker"])} · segment {_e(_text(q["segment"]) or "—")} · '
                       f'characters {int(q["start"])}–{int(q["end"])} · <code>{_e(i)}</code>'
                       + (f" · also supports: {links}" if links else "") + "</p>"
                       + _comments_html([k for k in on_claim if k["excerpt_id"] == i]))
        out.append("</section>")
    out.append("</details>")
    out.append(f'<p class="meta">Made with Journey Workbench {_e(__version__)}; settings in study.json.</p></div>')
    out.append(f'<script type="application/json" id="map-data">{_script_json({"cells": panel_cells, "claims": panel_claims, "quotes": quotes, "comments": said, "study": jm.study})}</script>')
    embeds = "".join(f'vegaEmbed("#chart-{name}", {_spec_json(chart)}, {{"actions": false, "renderer": "svg", "mode": "vega-lite"}});'
                     for name, chart in specs)
    out.append(f"<script>{_JS}</script>")
    out.append(f"<script>{embeds}</script></body></html>")
    return "\n".join(out) + "\n"


def map_pdf(svg: str) -> bytes:
    """The map (its SVG) centred on one A3 landscape page with 10 mm margins, as PDF: drawn by
    vl-convert's svg2pdf from the same SVG as map.svg, no browser, then made canonical (:func:`_canonical_pdf`)."""
    import vl_convert

    page_w, page_h = A3_LANDSCAPE
    root = re.search(r"<svg\b[^>]*>", svg)
    w, h = (float(re.search(rf'\b{a}="([\d.]+)"', root.group(0)).group(1)) for a in ("width", "height"))
    s = min((page_w - 2 * PDF_MARGIN) / w, (page_h - 2 * PDF_MARGIN) / h)
    box = f'x="{(page_w - w * s) / 2:.2f}" y="{(page_h - h * s) / 2:.2f}" width="{w * s:.2f}" height="{h * s:.2f}"'
    inner = re.sub(r'\s(?:width|height|x|y)="[^"]*"', "", root.group(0)).replace("<svg", f"<svg {box}", 1) + svg[root.end():]
    page = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{page_w}" height="{page_h}" viewBox="0 0 {page_w} {page_h}">'
            f'<rect width="{page_w}" height="{page_h}" fill="white"/>{inner}</svg>')
    return _canonical_pdf(vl_convert.svg_to_pdf(page))


_PDF_OBJECT = re.compile(rb"(\d+) 0 obj\n")
_PDF_REF = re.compile(rb"\b(\d+) 0 R\b")
_PDF_NAMED_REFS = re.compile(rb"(?:^ +/[^\s/]+ \d+ 0 R\n)+", re.M)     # the lines of a resource dictionary


def _canonical_pdf(pdf: bytes) -> bytes:
    """svg2pdf's PDF with its objects renumbered in one canonical order.

    svg2pdf lists a page's resources, and numbers and writes its fonts, in hash order: two calls on one
    drawing give different bytes (the same content). Here each resource dictionary is sorted by name and
    the objects are numbered, and written, in the order a walk from the trailer first reaches them,
    with a new cross-reference table; stream data are copied as they are. The same map → the same PDF.
    """
    first = re.search(rb"\n(\d+) 0 obj\n", pdf)
    header, pos = pdf[:first.start() + 1], first.start() + 1
    objects: dict[int, tuple[bytes, bytes]] = {}        # number → (dictionary text, stream with its keywords)
    while m := _PDF_OBJECT.match(pdf, pos):
        start, end = m.end(), pdf.index(b"\nendobj\n", m.end())
        at = pdf.find(b"\nstream\n", start)
        if 0 <= at < end:                                # the data may hold anything: its /Length says where it ends
            stop = at + len(b"\nstream\n") + int(re.search(rb"/Length (\d+)\b", pdf[start:at]).group(1))
            if not pdf.startswith(b"\nendstream\nendobj\n", stop):
                raise WorkbenchError("map.pdf: svg2pdf wrote a stream this writer cannot read back")
            stream, end = pdf[at:stop + len(b"\nendstream")], stop + len(b"\nendstream")
        else:
            stream, at = b"", end
        objects[int(m.group(1))] = (_PDF_NAMED_REFS.sub(lambda r: b"".join(sorted(r.group(0).splitlines(True))), pdf[start:at]),
                                    stream)
        pos = end + len(b"\nendobj\n")
        while pdf[pos:pos + 1] in (b"\n", b"\r"):
            pos += 1
    trailer = re.search(rb"trailer\n(<<.*?>>)\nstartxref", pdf[pos:], re.S).group(1)
    order: list[int] = []
    seen: set[int] = set()
    todo = [int(n) for n in reversed(_PDF_REF.findall(trailer))]
    while todo:                                          # depth first, references in the order they are written
        n = todo.pop()
        if n in objects and n not in seen:
            seen.add(n)
            order.append(n)
            todo += [int(r) for r in reversed(_PDF_REF.findall(objects[n][0]))]
    order += [n for n in objects if n not in seen]
    number = {old: new for new, old in enumerate(order, 1)}

    def renumber(text: bytes) -> bytes:
        return _PDF_REF.sub(lambda r: b"%d 0 R" % number[int(r.group(1))], text)

    out, offsets = [header], []
    size = len(header)
    for n in order:
        text, stream = objects[n]
        chunk = b"%d 0 obj\n" % number[n] + renumber(text) + stream + b"\nendobj\n\n"
        offsets.append(size)
        out.append(chunk)
        size += len(chunk)
    trailer = re.sub(rb"/Size \d+", b"/Size %d" % (len(order) + 1), renumber(trailer))
    out.append(b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(order) + 1) + b"".join(b"%010d 00000 n\r\n" % o for o in offsets)
               + b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF" % size)
    return b"".join(out)


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


def _images(spec: dict) -> dict[str, str | bytes]:
    """map.svg, map.png and map.pdf of a map chart's Vega-Lite spec."""
    import vl_convert

    svg = charts.stable_svg_ids(vl_convert.vegalite_to_svg(spec))
    return {"map.svg": svg, "map.png": vl_convert.vegalite_to_png(spec, scale=2), "map.pdf": map_pdf(svg)}


def write_report(jm: JourneyMap, out: Path, compare: Sequence[JourneyMap] = (), images: bool = True,
                 comments: pd.DataFrame | None = None, changes: "Changes | None" = None,
                 goals: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write report.html, map.png, map.svg, map.pdf, claims.csv, curve.csv, evidence.csv and study.json into ``out``.

    ``comments``: the study's stakeholder comments (:func:`workbench.comments.for_report`), shown under their
    claims and quotes; a reader adds more in the page and downloads them as JSON (``workbench comments import``).

    ``images=False`` skips the three renderings of the map chart (PNG, SVG and the one-page A3 landscape
    PDF), which take a few seconds.

    Everything is rendered first, then written as one set (:func:`~workbench.files.atomic_write_many`):
    a crash or a full disk leaves the folder as it was.
    """
    out.mkdir(parents=True, exist_ok=True)
    compare = list(compare) or list(jm.groups)
    differences = (jm.differences if compare == list(jm.groups) and jm.differences is not None else compare_maps(compare)) \
        if compare else None
    files = {}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # the images render in Rust (vl-convert, without the GIL) while the tables are written here
        images_done = pool.submit(_images, charts.map_chart(jm).to_dict()) if images else None
        claims = jm.claims_frame()[["claim_id", "stage", "lane", "text", "n_excerpts", "n_participants", "evidence_ids"]]
        evidence = jm.evidence[["excerpt_id", "source_id", "source_name", "speaker", "start", "end", "quote"]]
        files["claims.csv"] = csv_text(claims)
        files["curve.csv"] = csv_text(jm.curve_frame())
        files["evidence.csv"] = csv_text(evidence)
        if differences is not None:
            files["differences.csv"] = csv_text(differences)
        if changes is not None:
            files["changes.csv"] = csv_text(changes.table)
        if goals is not None and len(goals):
            files["goals.csv"] = csv_text(goals)
        files["study.json"] = json.dumps({
            "study": jm.study, "settings": jm.settings, "compare": [m.name for m in compare],
            "stage_model": {"name": jm.stage_model, "version": jm.stage_model_version, "stages": [s for s, _ in jm.stages]},
            "codebooks": jm.codebooks, "coders": jm.coders, "workbench": __version__,
            "counts": {"excerpts": int(len(jm.evidence)), "participants": int(jm.evidence["participant"].nunique()),
                       "claims": len(jm.claims)}, "notes": jm.notes, "checks": jm.checks}, indent=2, sort_keys=True,
            ensure_ascii=False) + "\n"
        files["report.html"] = render_html(jm, js_bundle(), compare, differences, comments, changes, goals)
        if images_done is not None:
            files.update(images_done.result())
    return atomic_write_many(out, files)


__all__ = ["write_report", "render_html", "js_bundle", "map_pdf", "QUOTES_PER_CLAIM", "CELL_CLAIMS"]
