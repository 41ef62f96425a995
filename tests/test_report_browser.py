"""The stakeholder report in Debian's Chromium (Playwright), served from 127.0.0.1 with every other request
aborted and failing the test: a cell click shows its claims and quotes, the keyboard opens and closes the
panel, the search lists quotes and marks their cells, hostile text stays text, the charts render offline,
the map fits a 1440×900 screen and the page prints to one A3 landscape page; a reader adds a comment in the
panel and downloads the JSON `workbench comments import` reads, with or without localStorage. Screenshots go to
``out/browser/``. Skips without ``/usr/bin/chromium`` (fails under CI), like tests/test_browser.py.
"""
from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

from test_browser import CHROMIUM, FLAGS, _shot, sync_api
from test_report import HOSTILE, LONG_THOUGHT, _pdf_pages, build_report
from workbench.comments import FORMAT, read_comments_file
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
    page = _open(site)
    yield page
    assert page.blocked == [], f"the report tried to reach the internet: {page.blocked[:5]}"
    assert page.problems == []
    page.close()


def _open(site, init_script: str | None = None):
    """The report in a new page (a new browser context) watched as the ``page`` fixture says."""
    page = site["browser"].new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    if init_script:
        page.add_init_script(init_script)
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
    return page


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


COMMENT = 'Ops sees this daily </script><img src=x onerror=alert(2)> "really"'


def _box(page, claim):
    """The comments box of one claim in the open panel."""
    return page.locator("#panel .cbox").filter(has=page.get_by_role("form", name=f"Comment on: {claim.text}"))


def _add_comment(page, jm, claim, author: str, text: str, quote: int | None = None) -> None:
    cell, _ = _cell(page, jm, claim)
    cell.click()
    page.locator("#panel").wait_for(state="visible")
    form = page.get_by_role("form", name=f"Comment on: {claim.text}")
    form.get_by_label("Your name").fill(author)
    if quote is not None:                     # on one of the claim's quotes shown (0: the first), not the whole claim
        form.get_by_label("On", exact=True).select_option(index=quote + 1)
    form.get_by_label("Comment", exact=True).fill(text)
    form.get_by_role("button", name="Add comment").click()


def _download(page, tmp_path):
    button = page.get_by_role("button", name="Download comments (JSON)")
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "comments.json"
    path = tmp_path / "comments.json"
    download.save_as(path)
    return path


def test_a_reader_adds_a_comment_in_the_panel_and_downloads_it_as_json(site, page, tmp_path):
    jm = site["jm"]
    claim = _top_claim(jm, "pain_points")
    download = page.get_by_role("button", name="Download comments (JSON)")
    assert download.is_disabled()                                            # nothing to download yet
    _add_comment(page, jm, claim, "Ana <b>ops</b>", COMMENT)
    panel = page.locator("#panel")
    assert COMMENT in _box(page, claim).locator(".comments").inner_text() and "Ana <b>ops</b>" in panel.inner_text()
    assert "kept in this browser" in panel.inner_text()
    mine = page.locator("#my-comments")
    assert mine.is_visible() and COMMENT in mine.inner_text() and claim.text in mine.inner_text()
    assert page.evaluate("document.querySelectorAll('img, b').length") == 0   # the comment stays text
    _shot(page, "report_comment.png")
    path = _download(page, tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == FORMAT and doc["version"] == 1 and doc["study"] == jm.study
    (c,) = doc["comments"]
    assert (c["claim_id"], c["excerpt_id"], c["author"], c["text"]) == (claim.claim_id, None, "Ana <b>ops</b>", COMMENT)
    (read,) = read_comments_file(path)                                       # what `workbench comments import` reads
    assert read["claim_id"] == claim.claim_id and read["text"] == COMMENT and read["created"].endswith("Z")
    # kept in the page's storage: a reload lists it again, in the page and in the claim's panel
    page.reload()
    page.locator("#my-comments li").first.wait_for()
    assert COMMENT in page.locator("#my-comments").inner_text()
    _cell(page, jm, claim)[0].click()
    assert COMMENT in _box(page, claim).locator(".comments").inner_text()
    # removed again: nothing left to download
    page.locator("#my-comments").get_by_role("button").first.click()
    assert page.locator("#my-comments").is_hidden() and download.is_disabled()
    page.wait_for_timeout(200)                                               # an onerror would have fired by now


def test_a_comment_on_one_quote_names_that_quote(site, page, tmp_path):
    jm = site["jm"]
    claim = _top_claim(jm, "pain_points")
    _add_comment(page, jm, claim, "Marta", "This one is the clearest example.", quote=1)
    shown = page.evaluate("cid => JSON.parse(document.getElementById('map-data').textContent).claims[cid].quotes",
                          claim.claim_id)
    assert len(shown) >= 2 and set(shown) <= set(claim.evidence)
    assert f"on quote {shown[1]}" in _box(page, claim).locator(".comments").inner_text()
    (c,) = read_comments_file(_download(page, tmp_path))
    assert (c["claim_id"], c["excerpt_id"], c["author"]) == (claim.claim_id, shown[1], "Marta")


def test_the_comments_work_when_local_storage_throws(site, tmp_path):
    """As for file:// pages in some browsers: the page keeps working, the comment is in the page and downloads."""
    page = _open(site, "Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied', "
                       "'SecurityError'); }});")
    try:
        jm = site["jm"]
        claim = _top_claim(jm, "touchpoints")
        _add_comment(page, jm, claim, "Luis", "Second line of support handles this.")
        assert "this page only" in page.locator("#panel").inner_text()
        assert "not kept after closing" in page.locator("#comments-status").inner_text()
        (c,) = read_comments_file(_download(page, tmp_path))
        assert (c["claim_id"], c["author"]) == (claim.claim_id, "Luis")
        page.get_by_label("Search quotes").fill("twelve days")                # the rest of the page still works
        page.locator("#search-results > li").first.wait_for()
        assert page.blocked == [] and page.problems == []
    finally:
        page.close()
