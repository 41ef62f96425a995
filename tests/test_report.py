"""The stakeholder report: the map grid first (cells are buttons with names), panel data that carry every
claim's quotes with offsets, a collapsed evidence appendix, hostile text escaped everywhere, and a
one-page A3 landscape map.pdf; the same map gives the same bytes."""
from __future__ import annotations

import csv
import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from workbench.journey import LANE_LABELS, LANES, Claim, JourneyMap, build_map
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.report import A3_LANDSCAPE, CELL_CHARS, CELL_CLAIMS, QUOTES_PER_CLAIM, write_report
from workbench.store import Store

HOSTILE = '</script><img src=x onerror=alert(1)> and "><b>x</b>'
STUDY_NAME = 'Study "><b>x</b> </script>'
SEGMENT = 'pymes"><b>x</b>'
LONG_THOUGHT = ("“I honestly thought the card would arrive the same week, because the branch told me so, and then nobody "
                "answered the phone for days while I kept paying the fee for an account I could not use at all”")
MESSAGES = [   # per conversation: (stage, text); the pain point rotates so one cell holds more claims than it shows
    ("awareness", "A friend told me about the bank and its app."),
    ("purchase", "The selfie check failed three times before it worked."),
    ("purchase", "I waited twelve days for the card to arrive."),
    ("purchase", "Nobody mentioned the opening fee until the first statement."),
    ("retention_advocacy", "I called support three times about the same transfer."),
]
PAINS = ["broken_flow", "waiting", "price_surprise", "effort_repetition"]
EMOTIONS = [("annoyance", -0.5), ("joy", 0.8), ("confusion", -0.3)]
TOUCH = ["app", "web", "phone", "branch"]


def build_report(tmp: Path, images: bool = True) -> tuple[JourneyMap, Path]:
    """A call log of eight conversations (hostile text in a quote, a source name, a segment and the study
    name), machine-coded, mapped, plus a long verbatim Thinking claim; its report in ``tmp / "report"``."""
    log = tmp / "calls.csv"
    with log.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["conversation_id", "role", "text", "segment", "csat"])
        for k in range(8):
            conv = f'C{k}"><b>x</b>' if k == 0 else f"C{k}"
            for j, (_, text) in enumerate(MESSAGES):
                w.writerow([conv, "customer", f"{text} {HOSTILE}" if k == 0 and j == 1 else text,
                            SEGMENT if k % 2 else "young_professional", 1 + k % 5])
    study = tmp / "study.db"
    with Store.create(study, name=STUDY_NAME) as store:
        ingest_paths(store, [log], progress=False)
        ex = store.excerpts().sort_values(["source_id", "start"])
        stage_of = {text: stage for stage, text in MESSAGES}
        codings = []
        stage = "awareness"
        for i, (eid, text) in enumerate(zip(ex["excerpt_id"], ex["text"])):
            stage = next((s for t, s in stage_of.items() if text.startswith(t)), stage)   # a split message: its first part's
            emo, val = EMOTIONS[i % len(EMOTIONS)]
            codings += [Coding(eid, "stage", stage, "rules@2", 0.6, "cue"),
                        Coding(eid, "pain_point", PAINS[i % len(PAINS)], "rules@2", 0.6, "cue", value=2.0),
                        Coding(eid, "emotion", emo, "emotion@1", 0.6, "model", value=val),
                        Coding(eid, "touchpoint", TOUCH[i % len(TOUCH)], "rules@2", 0.7, "cue")]
        store.add_codings(codings)
        jm = build_map(store, stage_model="awareness_advocacy")
    voices = jm.evidence[jm.evidence["stage"] == "purchase"].drop_duplicates("participant").head(3)
    thought = Claim("purchase.thinking.long-quote", "purchase", "thinking", LONG_THOUGHT, tuple(voices["excerpt_id"]), 3, 3)
    jm = dataclasses.replace(jm, claims=[*jm.claims, thought], notes=[*jm.notes, f"A note with {HOSTILE}"])
    write_report(jm, tmp / "report", images=images)
    return jm, tmp / "report"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[JourneyMap, Path]:
    return build_report(tmp_path_factory.mktemp("report"))


class _Page(HTMLParser):
    """Buttons, ids, links and the order of a few landmarks in a report."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: dict[str, dict] = {}
        self.ids: list[str] = []
        self.links: list[str] = []
        self.rows: list[str] = []
        self.details: list[dict] = []
        self.tags: list[str] = []
        self._row = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if "href" in a:
            self.links.append(a["href"])
        if tag == "button" and "data-cell" in a:
            self.buttons[a["id"]] = a
        if tag == "details":
            self.details.append(a)
        self._row = tag == "th" and a.get("scope") == "row"

    def handle_data(self, data):
        if self._row:
            self.rows.append(data)
            self._row = False


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _panel_data(html: str) -> dict:
    text = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in text and ">" not in text and "&" not in text
    return json.loads(text)


def test_report_opens_with_the_map_grid_its_cells_are_named_buttons(report):
    jm, out = report
    html = (out / "report.html").read_text(encoding="utf-8")
    body = html.split("</head>", 1)[1]
    # title, summary, then the map; the charts, the appendix and the data after it
    order = [body.index(s) for s in ("<h1>", "Study: ", 'id="search"', '<table class="map"', 'id="charts"',
                                     'id="chart-grid"', '<details id="evidence"', 'id="map-data"')]
    assert order == sorted(order)
    assert f"{len(jm.evidence)} customer excerpts" in body and "coders: " in body and "not yet reviewed" in body
    page = _parse(html)
    assert page.rows == [LANE_LABELS[lane] for lane in LANES]
    labels = dict(jm.stages)
    cells: dict[tuple[str, str], list] = {}
    for c in jm.claims:
        cells.setdefault((c.stage, c.lane), []).append(c)
    names = {b["aria-label"]: b for b in page.buttons.values()}
    assert len(names) == len(cells) == len(page.buttons)
    for (stage, lane), cs in cells.items():
        name = f"{labels[stage]} · {LANE_LABELS[lane]}: {len(cs)} claim{'s' * (len(cs) != 1)}"
        assert name in names, name
        assert names[name]["aria-controls"] == "panel" and names[name]["aria-expanded"] == "false"
    crowded = max(cells.values(), key=len)
    assert len(crowded) > CELL_CLAIMS and f"+{len(crowded) - CELL_CLAIMS} more" in body
    # a long verbatim quote is cut in its cell, whole in the panel
    cut = re.search(r'<span class="t">(“I honestly thought[^<]*)</span>', body).group(1)
    assert cut.endswith("…") and len(cut) <= CELL_CHARS and LONG_THOUGHT not in body.split('<div class="after-map">')[0]
    assert _panel_data(html)["claims"]["purchase.thinking.long-quote"]["text"] == LONG_THOUGHT
    # the panel is a labelled dialog, and printing gives the map on one A3 landscape page
    assert re.search(r'<aside id="panel" role="dialog"[^>]*aria-labelledby="panel-title"[^>]*hidden>', body)
    assert "@page{size:A3 landscape;margin:10mm}" in html
    assert re.search(r"@media print\{[^@]*\.after-map[^{]*\{display:none", html)


def test_panel_data_hold_each_claims_quotes_with_offsets_once(report):
    jm, out = report
    data = _panel_data((out / "report.html").read_text(encoding="utf-8"))
    assert sorted(cid for cell in data["cells"] for cid in cell["claims"]) == sorted(c.claim_id for c in jm.claims)
    ev = jm.evidence.set_index("excerpt_id")
    for c in jm.claims:
        claim = data["claims"][c.claim_id]
        assert claim["text"] == c.text and claim["n"] == c.n_excerpts
        assert claim["support"] == f"{c.n_excerpts} excerpt{'s' * (c.n_excerpts != 1)} · " \
                                   f"{c.n_participants} participant{'s' * (c.n_participants != 1)}"
        assert claim["quotes"] == list(c.evidence[:QUOTES_PER_CLAIM])
        for i in claim["quotes"]:
            q, row = data["quotes"][i], ev.loc[i]
            assert (q["text"], q["start"], q["end"], q["source"], q["segment"]) == \
                   (row["quote"], row["start"], row["end"], row["source_name"], row["segment"])
    used = {i for c in data["claims"].values() for i in c["quotes"]}
    assert used == set(data["quotes"])          # each quote once, only those a claim shows
    assert any(HOSTILE in q["text"] for q in data["quotes"].values())


def test_evidence_appendix_is_collapsed_and_every_link_resolves(report):
    jm, out = report
    html = (out / "report.html").read_text(encoding="utf-8")
    page = _parse(html)
    assert page.details == [{"id": "evidence"}]           # no "open": collapsed
    appendix = html.split('<details id="evidence">', 1)[1].split("</details>", 1)[0]
    for c in jm.claims:
        assert f'id="ev-{c.claim_id}"' in appendix and f'id="claim-{c.claim_id}"' in appendix
    internal = {u[1:] for u in page.links if u.startswith("#")}
    assert internal and internal <= set(page.ids)
    assert not [u for u in page.links if not u.startswith("#")]      # offline: no other link or resource


def test_hostile_text_is_escaped_everywhere(report):
    _, out = report
    html = (out / "report.html").read_text(encoding="utf-8")
    for raw in ("<img", "<b>", '"><b>', "onerror=alert(1)>"):
        assert raw not in html.split("</head>", 1)[1], raw
    assert html.count("</script>") == 4                 # the Vega bundle, the panel data, the panel code, the charts
    assert _parse(html).tags.count("b") == 0 and "img" not in _parse(html).tags
    body = html.split("</head>", 1)[1]
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; and &quot;&gt;&lt;b&gt;x&lt;/b&gt;" in body   # quote, note
    assert "Study &quot;&gt;&lt;b&gt;x&lt;/b&gt; &lt;/script&gt;" in body                              # study name
    assert "segment pymes&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in body and "C0&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in body


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """Width and height (points) of each page: its /Type /Page object (not /Pages) and MediaBox."""
    objects = re.findall(rb"\d+ 0 obj\s*<<(.*?)\nendobj", pdf, re.S)
    pages = [o for o in objects if re.search(rb"/Type\s*/Page\b", o)]
    sizes = []
    for o in pages:
        x0, y0, x1, y1 = (float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]*)\]", o).group(1).split())
        sizes.append((x1 - x0, y1 - y0))
    return sizes


def test_map_pdf_is_one_a3_landscape_page_and_every_file_is_reproducible(report, tmp_path):
    jm, out = report
    pdf = (out / "map.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = _pdf_pages(pdf)
    assert len(pages) == 1
    (w, h), = pages
    assert abs(w - A3_LANDSCAPE[0]) <= 2 and abs(h - A3_LANDSCAPE[1]) <= 2 and w > h
    assert b"/Count 1" in pdf and b"CreationDate" not in pdf and b"ModDate" not in pdf
    write_report(jm, tmp_path / "again")
    for name in ("report.html", "map.pdf", "map.svg", "claims.csv", "curve.csv", "evidence.csv", "study.json"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_report_without_images_writes_no_pdf(tmp_path, report):
    jm, _ = report
    files = write_report(jm, tmp_path / "rep", images=False)
    assert "report.html" in files and not {"map.pdf", "map.png", "map.svg"} & set(files)
