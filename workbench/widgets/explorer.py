"""Map explorer: the journey map and emotion curve as interactive Altair charts; click → quotes and comments; export."""
from __future__ import annotations

from pathlib import Path

import altair as alt
import ipywidgets as w
import pandas as pd

from .. import charts
from ..comments import list_comments
from ..journey import LANE_LABELS, JourneyMap, MapInputs, build_map, load_map_inputs
from ..report import write_report
from ..store import Store
from ._common import STYLE, esc, message, quote_block

QUOTES_SHOWN = 8      # quotes shown per claim: a sample, one per participant first (JourneyMap.sample)


def _comment_block(k: dict, on_quote: bool = False) -> str:
    """A stakeholder's comment, escaped: who, when (and, listed under the claim, which quote it is on)."""
    where = f" · on quote {k['excerpt_id']}" if on_quote and k["excerpt_id"] else ""
    return (f'<div class="wb-comment wb-meta" style="margin:2px 0 6px 12px">Comment by {esc(k["author"])} · '
            f'{esc(str(k["created"]).replace("T", " "))}{esc(where)}: <span class="wb-text">{esc(k["text"])}</span></div>')


def _shown(k: int, n: int) -> str:
    return f" · {k} of {n:,} quotes shown, one per participant first (all of them: evidence.csv of the export)" if n > k else ""


class MapExplorer(w.VBox):
    """Pick a segment, click a map cell or an emotion-curve point, read the quotes behind it, export.

    Headless: ``panel.show_cell(stage, lane)`` and ``panel.show_point(stage)`` return the quotes they
    show; ``panel.export(folder)`` writes the report, PNG, SVG and CSVs.

    Stakeholders' comments on a claim (``workbench comments``) are shown under it, and one on a quote
    under that quote: ``comments`` (a :func:`workbench.comments.list_comments` frame) if given, else the
    study's, read again with the map.
    """

    def __init__(self, study: str | Path, stage_model: str | None = None, segment: str | None = None,
                 include_suggested: bool = True, seed: int = 0, out: str | Path | None = None,
                 label_language: str | None = None, comments: pd.DataFrame | None = None):
        self.study = Path(study)
        self._given_comments = comments
        self.comments = comments if comments is not None else pd.DataFrame()
        self.stage_model = stage_model
        self.options = dict(include_suggested=include_suggested, seed=seed)
        self.out = Path(out) if out else self.study.parent / "report"
        with Store.open(self.study) as s:
            segments = sorted(s.sources()["segment"].dropna().unique())
            first = load_map_inputs(s, stage_model)      # read once here; the first map is built from it
            if comments is None:
                self.comments = list_comments(s)
        model, books = first.stage_model, first.codebooks
        # the languages the study's codebooks label their stages and codes in (``labels: {ro: …}``)
        label_langs = sorted({lang for cb in [model, *books.values()] for c in cb.codes for lang in (c.labels or {})})
        if label_language and label_language not in label_langs:
            label_langs.append(label_language)      # build_map falls back to the codebook label where one is missing
        self.labels = w.Dropdown(options=[("codebook", "")] + [(x, x) for x in label_langs], value=label_language or "",
                                 description="Labels", style={"description_width": "50px"},
                                 layout=w.Layout(width="180px"),
                                 tooltip="Label stages and codes in this language where the codebooks have it")
        alt.JupyterChart.enable_offline()           # Vega from vl-convert: no CDN
        self.segment = w.Dropdown(options=[("all segments", "")] + [(x, x) for x in segments], value=segment or "",
                                  description="Segment", style={"description_width": "80px"})
        self.export_button = w.Button(description="Export report", icon="file", button_style="primary",
                                      tooltip="report.html, map.png, map.svg, claims.csv, curve.csv, evidence.csv, study.json")
        self.status = w.HTML()
        self.quotes = w.HTML(message("info", "Click a cell of the map or a point of the emotion curve to read its quotes."))
        svg = {"renderer": "svg", "actions": False}     # SVG: marks carry aria labels (screen readers, tests)
        self.grid = alt.JupyterChart(alt.Chart(pd.DataFrame({"x": []})).mark_point(), embed_options=svg)
        self.curve = alt.JupyterChart(alt.Chart(pd.DataFrame({"x": []})).mark_point(), embed_options=svg)
        self.segment.observe(lambda _: self.load(), names="value")
        self.labels.observe(lambda _: self.load(), names="value")
        self.export_button.on_click(lambda _: self.export())
        super().__init__([w.HTML(STYLE + "<b>Journey map explorer</b>"), w.HBox([self.segment, self.labels, self.export_button]),
                          self.status, self.grid, self.curve, self.quotes])
        self.add_class("wb-explorer")
        self.map: JourneyMap | None = None
        self.load(first)

    def load(self, inputs: MapInputs | None = None) -> JourneyMap:
        """Build the map of the chosen segment and labels, from the study as it is now (or from ``inputs``)."""
        if inputs is None:              # read again: decisions made since (e.g. in the review panel) are on the map
            with Store.open(self.study) as s:
                inputs = load_map_inputs(s, self.stage_model)
                if self._given_comments is None:        # comments added since are shown too
                    self.comments = list_comments(s)
        self.map = build_map(inputs, segment=self.segment.value or None, label_language=self.labels.value or None,
                             **self.options)
        self.grid.chart = charts.journey_grid(self.map, select=True)
        self.curve.chart = charts.emotion_curve(self.map, select=True)
        # a new chart brings a new selections object: observe it again
        self.grid.selections.observe(self._on_cell, ["cell"])
        self.curve.selections.observe(self._on_point, ["point"])
        self.status.value = message("info", f"{len(self.map.claims)} claims from {len(self.map.evidence)} customer excerpts"
                                            + "".join(f" · {n}" for n in self.map.notes))
        return self.map

    # ------------------------------------------------------------------ clicks
    def _on_cell(self, change) -> None:
        value = change["new"].value if hasattr(change["new"], "value") else None
        if value:
            self.show_cell(value[0]["stage"], value[0]["lane"])

    def _on_point(self, change) -> None:
        value = change["new"].value if hasattr(change["new"], "value") else None
        if value:
            self.show_point(value[0]["stage"])

    def show_cell(self, stage: str, lane: str) -> pd.DataFrame:
        """The claims of one cell, each with a sample of its quotes (source, speaker, offsets): one per
        participant first, most telling first (:meth:`JourneyMap.sample`)."""
        jm = self.map
        labels = dict(jm.stages)
        claims = [c for c in jm.claims if c.stage == stage and c.lane == lane]
        parts = [f"<h4>{esc(labels.get(stage, stage))} · {esc(LANE_LABELS.get(lane, lane))}</h4>"]
        frames = []
        if not claims:
            parts.append(message("info", "No claim in this cell: nothing in the evidence supports one."))
        for c in claims:
            q = jm.evidence_rows(jm.sample(c.evidence, QUOTES_SHOWN))
            frames.append(q.assign(claim_id=c.claim_id, claim=c.text))
            thin = " · thin (one participant)" if c.thin else ""
            parts.append(f"<p><b>{esc(c.text)}</b> <span class='wb-meta'>{esc(c.detail)} · {c.n_excerpts} excerpts · "
                         f"{c.n_participants} participants{esc(thin)}{esc(_shown(len(q), c.n_excerpts))}</span></p>")
            said = self._comments_of(c.claim_id)
            shown = set(q["excerpt_id"])
            for r in q.itertuples():
                parts.append(quote_block(r.quote, f"{r.source_name} · {r.speaker} · characters {r.start}–{r.end} · {r.excerpt_id}"))
                parts += [_comment_block(k) for k in said if k["excerpt_id"] == r.excerpt_id]
            parts += [_comment_block(k, on_quote=True) for k in said if k["excerpt_id"] not in shown]
        self.quotes.value = "".join(parts)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _comments_of(self, claim_id: str) -> list[dict]:
        """The comments on one claim, oldest first: ``excerpt_id`` (None: on the claim), author, created, text."""
        df = self.comments
        if df is None or not len(df) or "claim_id" not in df.columns:
            return []
        rows = df[df["claim_id"] == claim_id].sort_values("created", kind="stable").to_dict("records")
        return [{"excerpt_id": r.get("excerpt_id") if isinstance(r.get("excerpt_id"), str) and r.get("excerpt_id") else None,
                 "author": r["author"], "created": r["created"], "text": r["text"]} for r in rows]

    def show_point(self, stage: str) -> pd.DataFrame:
        """A sample of the excerpts behind one point of the emotion curve (as :meth:`show_cell` samples)."""
        jm = self.map
        p = next((p for p in jm.curve if p.stage == stage), None)
        if p is None:
            raise KeyError(f"No stage {stage!r} in {jm.stage_model}; stages: {', '.join(s for s, _ in jm.stages)}.")
        q = jm.evidence_rows(jm.sample(p.evidence, QUOTES_SHOWN))
        head = (f"<h4>{esc(dict(jm.stages)[stage])}: mean valence {p.mean:+.2f} "
                f"<span class='wb-meta'>n={p.n}, 95% interval [{p.low:+.2f}, {p.high:+.2f}]"
                f"{esc(_shown(len(q), len(p.evidence)))}</span></h4>"
                if p.n and p.low is not None else f"<h4>{esc(stage)}: n={p.n}</h4>")
        self.quotes.value = head + "".join(
            quote_block(r.quote, f"{r.source_name} · {r.speaker} · characters {r.start}–{r.end} · {r.excerpt_id}")
            for r in q.itertuples())
        return q

    def export(self, folder: str | Path | None = None) -> dict[str, Path]:
        """Write the report files of the map on show (HTML, PNG, SVG, CSVs, study.json)."""
        files = write_report(self.map, Path(folder) if folder else self.out, comments=self.comments)
        self.status.value = message("ok", "Exported: " + ", ".join(str(p) for p in files.values()))
        return files
