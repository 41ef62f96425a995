"""The stakeholder report in Debian's Chromium (Playwright), served from 127.0.0.1 with every other request
aborted and failing the test: a cell click shows its claims and quotes, the keyboard opens and closes the
panel, the search lists quotes and marks their cells, hostile text stays text, the charts render offline,
the map fits a 1440×900 screen and the page prints to one A3 landscape page. Screenshots go to
``out/browser/``. Skips without ``/usr/bin/chromium`` (fails under CI), like tests/test_browser.py.
"""
from __future__ import annotations

import functools
import http.server
import threading

import pytest

from test_browser import CHROMIUM, FLAGS, _shot, sync_api
from test_report import HOSTILE, LONG_THOUGHT, _pdf_pages, build_report
from workbench.journey import LANE_LABELS
from workbench.report import A3_LANDSCAPE, QUOTES_PER_CLAIM


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/favicon.ico":         # the browser asks for one; the report has none
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The report of a small hostile study, served on 127.0.0.1, and a Chromium to open it in."""
    jm, out = build_report(tmp_path_factory.mktemp("report"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
            yield {"jm": jm, "base": f"http://127.0.0.1:{server.server_address[1]}", "browser": browser}
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(site):
    """The report in a fresh 1440×900 page: requests outside the local server are aborted and kept in
    ``page.blocked``, console errors, page errors and dialogs in ``page.problems``; both must stay empty."""
    page = site["browser"].new_page(viewport={"width": 1440, "height": 900})
    page.blocked, page.problems = [], []

    def offline(route):
        if route.request.url.startswith(site["base"] + "/") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(site["base"] + "/report.html")
    page.wait_for_function("() => document.querySelectorAll('.chart svg').length === 4", timeout=60_000)
    yield page
    assert page.blocked == [], f"the report tried to reach the internet: {page.blocked[:5]}"
    assert page.problems == []
    page.close()


def _top_claim(jm, lane: str):
    return max((c for c in jm.claims if c.lane == lane), key=lambda c: (c.n_participants, c.n_excerpts))


def _cell(page, jm, claim):
    labels = dict(jm.stages)
    n = sum(c.stage == claim.stage and c.lane == claim.lane for c in jm.claims)
    name = f"{labels[claim.stage]} · {LANE_LABELS[claim.lane]}: {n} claim{'s' * (n != 1)}"
    return page.get_by_role("button", name=name, exact=True), f"{labels[claim.stage]} · {LANE_LABELS[claim.lane]}"


def test_clicking_a_cell_shows_its_claims_and_quotes(site, page):
    jm = site["jm"]
    claim = _top_claim(jm, "pain_points")
    cell, heading = _cell(page, jm, claim)
    panel = page.locator("#panel")
    assert panel.is_hidden()
    cell.click()
    panel.wait_for(state="visible")
    assert page.locator("#panel-title").inner_text() == heading
    assert page.evaluate("document.activeElement.id") == "panel-title"      # focus moved into the panel
    assert cell.get_attribute("aria-expanded") == "true"
    text = panel.inner_text()
    cs = [c for c in jm.claims if (c.stage, c.lane) == (claim.stage, claim.lane)]
    assert all(c.text in text for c in cs) and f"{claim.n_excerpts} excerpts" in text
    quotes = panel.locator("blockquote")
    assert quotes.count() == sum(min(c.n_excerpts, QUOTES_PER_CLAIM) for c in cs)
    first = jm.evidence.set_index("excerpt_id").loc[claim.evidence[0]]
    assert first["quote"] in [quotes.nth(i).inner_text() for i in range(quotes.count())]
    assert f"characters {first['start']}–{first['end']} · {claim.evidence[0]}" in text
    _shot(page, "report_panel.png")
    page.locator("#panel-close").click()
    assert panel.is_hidden() and page.evaluate("document.activeElement.getAttribute('aria-label')") == cell.get_attribute("aria-label")


def test_keyboard_enter_opens_the_panel_escape_closes_it_and_focus_returns(site, page):
    jm = site["jm"]
    thought = next(c for c in jm.claims if c.text == LONG_THOUGHT)
    cell, heading = _cell(page, jm, thought)
    cell.focus()
    page.keyboard.press("Enter")
    page.locator("#panel").wait_for(state="visible")
    assert page.locator("#panel-title").inner_text() == heading
    assert LONG_THOUGHT in page.locator("#panel").inner_text()               # whole in the panel, cut in the cell
    assert LONG_THOUGHT not in cell.inner_text() and "…" in cell.inner_text()
    page.keyboard.press("Escape")
    page.locator("#panel").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.id") == cell.get_attribute("id")
    page.keyboard.press("Space")                                             # a real button: Space works too
    page.locator("#panel").wait_for(state="visible")
    page.keyboard.press("Escape")
    assert cell.get_attribute("aria-expanded") == "false"


def test_search_lists_matching_quotes_and_highlights_their_cells(site, page):
    jm = site["jm"]
    box = page.get_by_label("Search quotes")
    box.fill("twelve days")
    results = page.locator("#search-results > li")
    results.first.wait_for()
    matching = {i for i, q in zip(jm.evidence["excerpt_id"], jm.evidence["quote"]) if "twelve days" in q.lower()}
    shown = {c for c in jm.claims if set(c.evidence[:QUOTES_PER_CLAIM]) & matching}
    assert results.count() == len({i for c in shown for i in c.evidence[:QUOTES_PER_CLAIM]} & matching) > 0
    assert "twelve days" in results.first.locator("mark").inner_text()
    labels = dict(jm.stages)
    listed = page.locator("#search-results").inner_text()
    assert all(f"{c.text} ({labels[c.stage]} · {LANE_LABELS[c.lane]})" in listed for c in shown)   # claim, stage, lane
    hits = page.locator("button.cell.hit")
    cells = {(c.stage, c.lane) for c in shown}
    assert hits.count() == len(cells)
    for claim in shown:
        assert "hit" in _cell(page, jm, claim)[0].get_attribute("class")
    _shot(page, "report_search.png")
    box.fill("")
    assert page.locator("button.cell.hit").count() == 0 and page.locator("#search-results").is_hidden()


def test_a_hostile_quote_is_shown_as_text(site, page):
    page.get_by_label("Search quotes").fill("onerror")
    page.locator("#search-results > li").first.wait_for()
    assert HOSTILE in page.locator("#search-results blockquote").first.inner_text()
    page.locator("#search-results a").first.click()                          # open a cell that holds it
    page.locator("#panel").wait_for(state="visible")
    assert HOSTILE in page.locator("#panel").inner_text()
    assert page.evaluate("document.querySelectorAll('img, b').length") == 0
    assert 'Study "><b>x</b> </script>' in page.locator("body").inner_text()   # the study name, as text
    page.wait_for_timeout(200)                                               # an onerror would have fired by now


def test_charts_render_offline_and_the_map_fits_the_screen(page):
    charts = page.locator(".chart svg")
    assert charts.count() == 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, f"chart {i} is empty: {box}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    grid = page.locator("table.map").bounding_box()
    assert grid["x"] >= 0 and grid["x"] + grid["width"] <= 1440
    assert grid["y"] < page.locator("#charts").bounding_box()["y"]            # the map before the charts
    assert page.locator("#evidence").get_attribute("open") is None
    _shot(page, "report_map.png")


def test_the_report_prints_the_map_on_one_a3_landscape_page(page):
    pdf = page.pdf(format="A3", landscape=True, print_background=True)
    pages = _pdf_pages(pdf)
    assert len(pages) == 1
    (w, h), = pages
    assert abs(w - A3_LANDSCAPE[0]) <= 2 and abs(h - A3_LANDSCAPE[1]) <= 2
    # the CSS page size alone gives the same single page
    assert len(_pdf_pages(page.pdf(prefer_css_page_size=True, print_background=True))) == 1
    page.emulate_media(media="print")
    assert page.locator("table.map").is_visible() and not page.locator("#charts").is_visible()
    assert not page.get_by_label("Search quotes").is_visible()
