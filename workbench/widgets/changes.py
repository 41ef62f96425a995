"""What changed: pick two map snapshots (or a snapshot and the current map), read the changes and their quotes."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import pandas as pd

from ..journey import build_map
from ..snapshots import diff_snapshots, diff_summary, list_snapshots, load_snapshot, save_snapshot, snapshot_body
from ..store import Store
from ._common import STYLE, esc, message, quote_block

CURRENT = ""            # the "After" dropdown's value for the study's current map
QUOTES_SHOWN = 8        # quotes shown per change
ROWS_SHOWN = 40         # change lines listed (reliable first, then by q); every row: changes.csv of `workbench map diff --out`


class ChangesPanel(w.VBox):
    """Compare two snapshots of a study's map: which claims appeared, disappeared, grew or shrank,
    the emotion curve's change per stage, and which changes are reliable (Fisher's exact /
    Mann–Whitney, Benjamini–Hochberg; see :func:`workbench.snapshots.diff_snapshots`).

    ``against`` is another study whose snapshots are the "before" side (before and after a redesign;
    the same stage model). The panel can also store the current map as a snapshot.

    Headless: ``panel.show(before, after=None)`` returns the diff (``after=None``: the current map);
    ``panel.quotes_of(i)`` returns the quotes of its ``i``-th listed line; ``panel.snapshot(name)``
    stores the current map.
    """

    def __init__(self, study: str | Path, against: str | Path | None = None, stage_model: str | None = None,
                 include_suggested: bool = True, seed: int = 0, before: str | None = None, after: str | None = None):
        self.study = Path(study)
        self.against = Path(against) if against else None
        self.map_options = dict(stage_model=stage_model, include_suggested=include_suggested, seed=seed)
        self.seed = seed
        self.diff: pd.DataFrame | None = None
        self.shown: pd.DataFrame = pd.DataFrame()
        self.labels = ("", "")
        self._quiet = False
        self.before = w.Dropdown(description="Before", style={"description_width": "60px"}, layout=w.Layout(width="300px"))
        self.after = w.Dropdown(description="After", style={"description_width": "50px"}, layout=w.Layout(width="300px"))
        self.reliable_only = w.Checkbox(value=False, description="reliable changes only", indent=False,
                                        layout=w.Layout(width="190px"))
        self.show_button = w.Button(description="Show changes", icon="exchange", button_style="primary",
                                    tooltip="What changed from Before to After, tested")
        self.name = w.Text(placeholder="snapshot name, e.g. 2026-Q1", layout=w.Layout(width="240px"))
        self.replace = w.Checkbox(value=False, description="replace", indent=False, layout=w.Layout(width="90px"))
        self.snapshot_button = w.Button(description="Snapshot current map", icon="camera", layout=w.Layout(width="200px"),
                                        tooltip="Store the study's current map under this name")
        self.status = w.HTML()
        self.summary = w.HTML()
        self.table = w.HTML()
        self.pick = w.Dropdown(description="Quotes of", options=[], style={"description_width": "70px"},
                               layout=w.Layout(width="95%"))
        self.quotes = w.HTML()
        self.show_button.on_click(lambda _: self._run(self.show, self.before.value, self.after.value or None))
        self.snapshot_button.on_click(lambda _: self._run(self.snapshot, self.name.value, self.replace.value))
        self.reliable_only.observe(lambda _: self._render(), names="value")
        self.pick.observe(self._picked, names="value")
        super().__init__([w.HTML(STYLE + "<b>What changed between map snapshots</b>"),
                          w.HBox([self.before, self.after, self.reliable_only, self.show_button]),
                          w.HBox([self.name, self.replace, self.snapshot_button]),
                          self.status, self.summary, self.table, self.pick, self.quotes])
        self.add_class("wb-changes")
        self.refresh()
        if before:
            self.before.value = before       # an unknown name fails here, naming the dropdown's choices
        if after:
            self.after.value = after

    # ------------------------------------------------------------------ headless API
    def refresh(self) -> pd.DataFrame:
        """Read the snapshots again (both studies) and fill the dropdowns; returns the "before" side's list."""
        with Store.open(self.study) as s:
            after = list_snapshots(s)
        if self.against:
            with Store.open(self.against) as s:
                before = list_snapshots(s)
        else:
            before = after
        keep_b, keep_a = self.before.value, self.after.value
        self.before.options = [(f"{r.name} ({r.participants} participants)", r.name) for r in before.itertuples()]
        self.after.options = [("current map", CURRENT)] + [(f"{r.name} ({r.participants} participants)", r.name)
                                                           for r in after.itertuples()]
        if keep_b in before["name"].tolist():
            self.before.value = keep_b
        if keep_a in after["name"].tolist():
            self.after.value = keep_a
        self.show_button.disabled = before.empty
        if before.empty:
            where = f" of {self.against.name}" if self.against else ""
            self.status.value = message("info", f"No snapshots{where} yet: store the map with 'Snapshot current map' "
                                                "(or workbench map --study S --snapshot NAME), then again after new "
                                                "sources or recoding, and compare the two here.")
        return before

    def snapshot(self, name: str, replace: bool = False) -> dict:
        """Store the study's current map as snapshot ``name``; returns the stored body."""
        with Store.open(self.study) as s:
            body = save_snapshot(s, name, build_map(s, **self.map_options), replace=replace)
        self.refresh()
        self.status.value = message("ok", f"Stored the current map as snapshot {body['name']!r} "
                                          f"({body['participants']} participants, {len(body['claims'])} claims).")
        return body

    def show(self, before: str, after: str | None = None) -> pd.DataFrame:
        """The diff from snapshot ``before`` to snapshot ``after`` (``None``: the study's current map), shown."""
        if not before:
            raise ValueError("Choose the Before snapshot (store one first with 'Snapshot current map').")
        with Store.open(self.study) as s:
            if self.against:
                with Store.open(self.against) as o:
                    a = load_snapshot(o, before)
            else:
                a = load_snapshot(s, before)
            b = load_snapshot(s, after) if after else snapshot_body(build_map(s, **self.map_options))
            d = diff_snapshots(a, b, seed=self.seed)
        self.diff = d
        self.labels = (before + (f" ({self.against.name})" if self.against else ""), after or "the current map")
        self._render()
        return d

    def quotes_of(self, i: int) -> list[str]:
        """The quotes behind the ``i``-th listed change, shown below the table: its new evidence if it has
        any (what the later map gained), else all of it; up to :data:`QUOTES_SHOWN`, one per participant first."""
        if self.shown.empty or not 0 <= i < len(self.shown):
            raise ValueError(f"There is no listed change {i}: pick one of the {len(self.shown)} lines.")
        r = self.shown.iloc[i]
        new = str(r["new_evidence_ids"] or "")
        ids = [x for x in (new or str(r["evidence_ids"] or "")).split(";") if x]
        frames = []
        for path in [self.study] + ([self.against] if self.against else []):
            with Store.open(path) as s:
                frames.append(s.excerpts_of(ids))
        rows = pd.concat(frames).drop_duplicates("excerpt_id")
        rows = rows.assign(_first=~rows.duplicated("participant")).sort_values(["_first", "excerpt_id"],
                                                                                 ascending=[False, True], kind="stable")
        rows = rows.head(QUOTES_SHOWN)
        kind = "new quotes (not in Before)" if new else "quotes"
        more = f", {len(rows)} shown, one per participant first" if len(ids) > len(rows) else ""
        self.quotes.value = message("info", f"{r['summary']} — {len(ids)} {kind}{more}") + "".join(
            quote_block(q.text, f"{q.source_name} · {q.speaker} · characters {q.start}–{q.end} · {q.excerpt_id}")
            for q in rows.itertuples())
        return rows["text"].tolist()

    # ------------------------------------------------------------------ rendering
    def _run(self, fn, *args):
        try:
            return fn(*args)
        except Exception as e:       # a panel says what went wrong instead of a traceback in the log
            self.status.value = message("error", str(e))
            return None

    def _picked(self, change) -> None:
        if not self._quiet and change["new"] is not None:
            self._run(self.quotes_of, change["new"])

    def _render(self) -> None:
        d = self.diff
        if d is None:
            return
        n = diff_summary(d)
        tested = int(d["p_value"].notna().sum())
        before, after = self.labels
        self.status.value = ""
        self.summary.value = message(
            "ok" if n["reliable"] else "info",
            f"{before} → {after}: {n['appeared']} claims appeared, {n['disappeared']} disappeared, {n['grew']} grew, "
            f"{n['shrank']} shrank; {n['reliable']} reliable change(s) of {tested} tested (Benjamini–Hochberg q < 0.05)."
            + ("" if n["reliable"] else " Nothing moved more than noise would at these sample sizes."))
        rows = d[d["reliable"].astype(bool)] if self.reliable_only.value else d[d["change"] != "same"]
        # reliable ones first (by q), then the largest changes: what a reader looks at first
        size = rows["difference"].abs().fillna(rows["after"].fillna(0).abs()).fillna(0)
        rank = rows["q_value"].where(rows["reliable"].astype(bool), 2.0)
        rows = rows.assign(_q=rank, _size=size).sort_values(["reliable", "_q", "_size"], ascending=[False, True, False],
                                                            kind="stable").drop(columns=["_q", "_size"])
        self.shown = rows.head(ROWS_SHOWN).reset_index(drop=True)
        t = self.shown.assign(reliable=self.shown["reliable"].map({True: "reliable", False: ""}),
                              q=self.shown["q_value"].map(lambda q: "" if pd.isna(q) else f"{q:.3f}"))
        cols = ["change", "reliable", "kind", "stage", "summary", "q"]
        body = "".join("<tr>" + "".join(f'<td class="wb-text">{esc(v)}</td>' if c == "summary" else f"<td>{esc(v)}</td>"
                                        for c, v in zip(cols, r)) + "</tr>" for r in t[cols].itertuples(index=False))
        more = f'<p class="wb-meta">showing {len(self.shown)} of {len(rows)} changes</p>' if len(rows) > len(self.shown) else ""
        empty = "<p class='wb-meta'>No change to list.</p>" if self.shown.empty else ""
        self.table.value = ('<table class="wb"><thead><tr>' + "".join(f'<th scope="col">{esc(c)}</th>' for c in cols)
                            + f"</tr></thead><tbody>{body}</tbody></table>{more}{empty}")
        self._quiet = True
        try:
            self.pick.options = [(f"{i + 1}. {r.change}: {r.summary}"[:160], i) for i, r in enumerate(self.shown.itertuples())]
            self.pick.value = None
        finally:
            self._quiet = False
        self.quotes.value = message("info", "Pick a change to read its quotes.") if len(self.shown) else ""
