"""The notebooks in a real JupyterLab, driven by Playwright in Debian's Chromium.

The test starts JupyterLab on 127.0.0.1 (random port, token) over a copy of the notebooks, runs
each notebook from the browser and checks what a researcher sees: the ingest preview shows turns,
"Accept all" on a review card saves every dimension of its excerpt (read back through the store) and the
count drops by one excerpt, clicking a map cell shows that cell's quotes, "Show changes" lists what changed
between two snapshots and a picked change shows its quotes, the panels follow the dark theme, and
every chart renders with the page cut off from the internet (requests outside 127.0.0.1 are aborted). Screenshots go to
``out/browser/``. Needs ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs
it): without it the tests skip, except under CI, where they fail.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTEFACTS = ROOT / "out" / "browser"
RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
KERNEL_READY = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel); }")

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("Browser tests need Debian's chromium at /usr/bin/chromium: apt-get install -y chromium")
    pytest.skip("Browser tests need /usr/bin/chromium (apt-get install chromium).", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab over a copy of the notebooks (with the corpora beside them), stopped afterwards."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(nb, root / "notebooks" / nb.name)
    (root / "corpora").symlink_to(ROOT / "corpora")
    # every cell in the page, not only those in view (JupyterLab 4 renders a long notebook's visible cells only),
    # so a test can read any output and the panels stay attached while "run all" scrolls on
    tracker = root / "config" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"))
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError("JupyterLab exited: " + (root / "server.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not answer in 60 s: " + (root / "server.log").read_text()[-2000:])
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
            yield {"base": base, "token": token, "root": root, "browser": browser}
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _run(lab, name: str):
    """Open a notebook in a fresh page, run all its cells; returns the page.

    The page has no internet: every request that is not to the local JupyterLab is aborted and
    recorded in ``page.blocked`` (a chart that needs a CDN shows up there and as an error)."""
    page = lab["browser"].new_page(viewport={"width": 1500, "height": 1100})
    page.blocked = []

    def offline(route):
        if route.request.url.startswith(lab["base"]) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(f"{lab['base']}/lab/tree/notebooks/{name}?reset&token={lab['token']}")
    page.wait_for_function(KERNEL_READY, timeout=120_000)
    page.evaluate(RUN_ALL)
    return page


def _shot(page, name: str, locator=None) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    if locator is not None:
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path))
    return path


def test_01_ingest_preview_shows_turns_and_imports(lab):
    page = _run(lab, "01_ingest.ipynb")
    panel = page.locator(".wb-ingest").first
    panel.wait_for(state="attached", timeout=120_000)
    page.wait_for_function("() => document.querySelector('.wb-ingest').innerText.includes('Imported')", timeout=180_000)
    preview = panel.locator("table.wb").first
    text = preview.inner_text()
    assert "Entrevistador" in text and "Participante" in text and "es" in text      # speakers, languages
    assert "Imported 14 files" in panel.inner_text()      # 11 English/Spanish + 3 of the Romanian sample
    _shot(page, "01_ingest.png", panel)
    page.close()


def test_02_review_accept_all_persists_in_the_study(lab):
    import re

    from workbench.store import Store
    page = _run(lab, "02_code_and_review.ipynb")
    card = page.locator(".wb-review .wb-card").first
    card.wait_for(state="attached", timeout=240_000)
    progress = page.locator(".wb-review .wb-progress").first
    before = int(re.search(r"([\d,]+) excerpts? to review", progress.inner_text()).group(1).replace(",", ""))
    excerpt = card.locator("code").first.inner_text()
    quote = card.locator(".wb-quote").first.inner_text()
    shown = card.locator("select").count()                  # one dropdown per suggested dimension
    also = card.locator("input[type=checkbox]").count()     # a tick box per further code (several emotions), ticked
    card.scroll_into_view_if_needed()
    card.get_by_role("button", name="Accept all").click()
    card.get_by_text("Saved by researcher").wait_for(timeout=30_000)
    page.wait_for_function("n => document.querySelector('.wb-review .wb-progress').innerText"
                           ".includes(n.toLocaleString('en-US') + ' excerpt')", arg=before - 1, timeout=30_000)
    _shot(page, "02_review.png", page.locator(".wb-review").first)
    with Store.open(lab["root"] / "out" / "notebooks" / "study.db") as s:
        decided = s.codings().query("coder == 'human:researcher' and status == 'accepted'")
        text = s.excerpts().set_index("excerpt_id").loc[excerpt, "text"]
    assert set(decided["excerpt_id"]) == {excerpt} and decided["dimension"].nunique() == shown >= 3
    assert len(decided) == shown + also                    # every code as shown, the ticked further ones too
    assert text == quote                                   # the card showed that excerpt's verbatim text
    page.close()


def test_03_clicking_a_map_cell_shows_its_quotes(lab):
    from workbench.journey import build_map
    from workbench.store import Store
    page = _run(lab, "03_journey_map.ipynb")
    explorer = page.locator(".wb-explorer").first
    explorer.wait_for(state="attached", timeout=240_000)
    page.locator(".wb-explorer svg.marks").first.wait_for(state="attached", timeout=120_000)
    page.wait_for_function("() => document.body.innerText.includes('study.json')", timeout=120_000)   # all cells ran
    with Store.open(lab["root"] / "out" / "notebooks" / "study.db") as s:
        jm = build_map(s)
    labels = dict(jm.stages)
    # the notebook itself shows the top pain point's quotes: click another lane, so only the click can show these
    claim = max((c for c in jm.claims if c.lane == "touchpoints"), key=lambda c: (c.n_participants, c.n_excerpts))
    heading = f"{labels[claim.stage]} · Touchpoints / channels"
    assert heading not in explorer.inner_text()
    grid = explorer.locator("svg.marks").first
    cells = grid.locator(".mark-rect.role-mark").last.locator("path")     # the clickable layer on top
    target = None
    for i in range(cells.count()):
        label = cells.nth(i).get_attribute("aria-label") or ""
        if f"stage: {labels[claim.stage]}" in label and "lane: Touchpoints / channels" in label:
            target = cells.nth(i)
            break
    assert target is not None, f"no map cell for {claim.stage} × touchpoints among {cells.count()} cells"
    target.scroll_into_view_if_needed()
    target.click()
    first_quote = jm.quote(claim.evidence[0])
    page.wait_for_function("q => document.querySelector('.wb-explorer').innerText.includes(q)", arg=first_quote[:60],
                           timeout=30_000)
    shown = explorer.inner_text()
    assert heading in shown and claim.text in shown and f"{claim.n_excerpts} excerpts" in shown
    explorer.locator(".wb-quote").first.scroll_into_view_if_needed()
    _shot(page, "03_map_click.png")
    # the dark theme: panels take JupyterLab's colours (light text on a dark quote background)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    time.sleep(1)
    fg, bg = page.evaluate("""() => { const q = document.querySelector('.wb-explorer .wb-quote');
        const s = getComputedStyle(q); return [s.color, s.backgroundColor]; }""")
    assert _luminance(fg) > _luminance(bg), (fg, bg)
    _shot(page, "03_map_dark.png")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.close()


def _assert_charts_render_offline(page, expected: int) -> None:
    """Every chart output is there, drawn, with no request outside 127.0.0.1 and no error shown."""
    charts = page.locator(".jp-OutputArea-output[data-mime-type='image/svg+xml'] :is(img, svg)")
    assert charts.count() >= expected, f"{charts.count()} charts shown, expected {expected}"
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, f"chart {i} is empty: {box}"
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error loading script" not in text and "Javascript Error" not in text
    assert page.blocked == [], f"the notebook tried to reach the internet: {page.blocked[:5]}"


def test_04_compare_segments_runs_and_its_chart_renders_offline(lab):
    page = _run(lab, "04_compare_segments.ipynb")
    page.wait_for_function("() => document.body.innerText.includes('reliable (q < 0.05)')", timeout=240_000)
    page.locator(".jp-OutputArea-output[data-mime-type='image/svg+xml'] :is(img, svg)").first.wait_for(timeout=120_000)
    page.wait_for_function("() => document.body.innerText.includes(\"'disappeared'\")", timeout=240_000)   # the last cell ran
    _assert_charts_render_offline(page, expected=1)
    _shot(page, "04_compare.png")
    _diff_panel_shows_changes_and_their_quotes(lab, page)
    page.close()


def _diff_panel_shows_changes_and_their_quotes(lab, page):
    """The notebook's diff panel: "Show changes" lists what changed between the two snapshots the notebook
    stored, and picking a change shows its quotes (the same the headless panel gives)."""
    from workbench.snapshots import diff_summary
    from workbench.widgets import ChangesPanel
    panel = page.locator(".wb-changes").first
    panel.wait_for(state="attached", timeout=60_000)
    assert "claims appeared" not in panel.inner_text()          # nothing shown before the click
    panel.scroll_into_view_if_needed()
    panel.get_by_role("button", name="Show changes").click()
    page.wait_for_function("() => document.querySelector('.wb-changes').innerText.includes('claims appeared')",
                           timeout=120_000)
    here = ChangesPanel(lab["root"] / "out" / "notebooks" / "study.db", before="february", after="all")
    d = here.show("february", "all")
    n = diff_summary(d)["appeared"]
    assert f"february → all: {n} claims appeared" in panel.inner_text()
    expected = here.quotes_of(1)
    panel.locator("select").last.select_option(index=1)
    panel.locator(".wb-quote").first.wait_for(timeout=30_000)
    shown = panel.locator(".wb-quote").all_inner_texts()
    assert shown == expected and len(shown) >= 1, (shown[:2], expected[:2])
    _shot(page, "04_changes.png", panel)


def test_report_notebook_charts_render_offline(lab):
    page = _run(lab, "report.ipynb")
    page.wait_for_function("() => document.body.innerText.includes('excerpts from') && "
                           "document.body.innerText.includes('source_name')", timeout=480_000)
    _assert_charts_render_offline(page, expected=3)
    _shot(page, "report_notebook.png")
    page.close()


def _luminance(css: str) -> float:
    r, g, b = (float(x) for x in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
