"""Review queue panel: machine suggestions in context, accept / reject / recode with a memo, saved at once."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import pandas as pd

from ..codebook import DIMENSION_CODEBOOKS, resolve
from ..decisions import is_human
from ..errors import WorkbenchError
from ..journey import study_stage_model
from ..review import decide, in_context, queue_counts, review_queue, undo
from ..store import Store
from ._common import STYLE, esc, message, table

PAGE = 10


class ReviewPanel(w.VBox):
    """The review queue, a page at a time.

    Every button is a headless method too: ``panel.accept(i)``, ``panel.reject(i)``,
    ``panel.recode(i, code_id)`` act on row ``i`` of ``panel.page`` and write to the study at once.
    Buttons and fields are reachable with Tab and pressed with Enter or Space.
    """

    def __init__(self, study: str | Path, coder: str = "researcher", page_size: int = PAGE, stage_model: str | None = None):
        self.study = Path(study)
        self.page_size = page_size
        self.store = Store.open(self.study)
        self.codes = {dim: [c.code_id for c in resolve(name).codes] for dim, name in DIMENSION_CODEBOOKS.items()}
        try:
            stages = study_stage_model(self.store, stage_model)
        except WorkbenchError:          # not coded yet: the default model
            stages = resolve("awareness_advocacy")
        self.codes["stage"] = [c.code_id for c in stages.ordered]
        src = self.store.sources()
        counts = self.store.coding_counts()
        dims = sorted(set(counts["dimension"]))
        coders = sorted(c for c in set(counts["coder"]) if not is_human(c))
        opt = {"style": {"description_width": "80px"}, "layout": w.Layout(width="260px")}
        self.coder = w.Text(value=coder, description="You are", **opt)
        self.dimension = w.Dropdown(options=[("all", "")] + [(d, d) for d in dims], description="Dimension", **opt)
        self.order = w.Dropdown(options=[("least confident first", "confidence"), ("by code", "code"),
                                         ("reading order", "source")], description="Order", **opt)
        self.source = w.Dropdown(options=[("all", "")] + [(n, i) for n, i in zip(src["name"], src["source_id"])],
                                 description="Source", **opt)
        self.segment = w.Dropdown(options=[("all", "")] + [(s, s) for s in sorted(src["segment"].dropna().unique())],
                                  description="Segment", **opt)
        self.machine = w.Dropdown(options=[("all", "")] + [(c, c) for c in coders], description="Coder", **opt)
        self.prev_button = w.Button(description="Previous", icon="arrow-left", layout=w.Layout(width="110px"))
        self.next_button = w.Button(description="Next", icon="arrow-right", layout=w.Layout(width="110px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="110px"),
                                       tooltip="Reload the queue (decided items leave it)")
        self.where = w.HTML()
        self.counts = w.HTML()
        self.status = w.HTML()
        self.cards = w.VBox()
        self.page_no = 0
        self.queue = pd.DataFrame()
        self.page = pd.DataFrame()
        for f in (self.dimension, self.order, self.source, self.segment, self.machine):
            f.observe(lambda _: self.load(), names="value")
        self.prev_button.on_click(lambda _: self.show_page(self.page_no - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page_no + 1))
        self.refresh_button.on_click(lambda _: self.load(keep_page=True))
        super().__init__([w.HTML(STYLE + "<b>Review queue</b>"),
                          w.HBox([self.coder, self.dimension, self.order]),
                          w.HBox([self.source, self.segment, self.machine]),
                          self.counts, w.HBox([self.prev_button, self.next_button, self.refresh_button, self.where]),
                          self.status, self.cards])
        self.add_class("wb-review")
        self.load()

    # ------------------------------------------------------------------ queue
    def load(self, keep_page: bool = False) -> pd.DataFrame:
        self.queue = review_queue(self.store, dimension=self.dimension.value or None, order=self.order.value,
                                  source=self.source.value or None, segment=self.segment.value or None,
                                  coder=self.machine.value or None)
        self._show_counts()
        self.show_page(self.page_no if keep_page else 0)
        return self.queue

    def _show_counts(self) -> None:
        c = queue_counts(self.store)
        self.counts.value = (f'<span class="wb-meta">{len(self.queue)} suggestions match these filters. Whole study: </span>'
                             + table(c, caption="left to review / decided, per dimension"))

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.queue) // self.page_size))

    def show_page(self, k: int) -> pd.DataFrame:
        self.page_no = min(max(0, k), self.pages - 1)
        rows = self.queue.iloc[self.page_no * self.page_size:(self.page_no + 1) * self.page_size]
        self.page = in_context(self.store, rows.reset_index(drop=True))
        self.where.value = f'<span class="wb-meta">page {self.page_no + 1} of {self.pages}</span>'
        self.prev_button.disabled = self.page_no == 0
        self.next_button.disabled = self.page_no >= self.pages - 1
        self.cards.children = [self._card(i, r) for i, r in self.page.iterrows()]
        if self.page.empty:
            self.cards.children = [w.HTML(message("ok", "Nothing left to review with these filters."))]
        return self.page

    def _card(self, i: int, r: pd.Series) -> w.VBox:
        alt = f"<div class='wb-meta'>other suggestions: {esc(r['alternatives'])}</div>" if r["alternatives"] else ""
        head = w.HTML(
            f"<div class='wb-meta'>{esc(r['source_name'])} · {esc(r['speaker'])} · segment {esc(r['segment'] or '—')} · "
            f"characters {int(r['start'])}–{int(r['end'])} · <code>{esc(r['excerpt_id'])}</code></div>"
            + (f"<div class='wb-ctx'>{esc(r['before'])}</div>" if r["before"] else "")
            + f"<div class='wb-quote'>{esc(r['text'])}</div>"
            + (f"<div class='wb-ctx'>{esc(r['after'])}</div>" if r["after"] else "")
            + f"<div><b>{esc(r['dimension'])}: {esc(r['code_id'])}</b> <span class='wb-meta'>({esc(r['coder'])}, "
              f"confidence {float(r['confidence']):.2f})</span></div>"
            + f"<div class='wb-meta'>why: {esc(r['rationale'])}</div>{alt}")
        codes = self.codes.get(r["dimension"], []) or [r["code_id"]]
        recode_to = w.Dropdown(options=codes, value=r["code_id"] if r["code_id"] in codes else codes[0],
                               description="Recode to", style={"description_width": "70px"}, layout=w.Layout(width="280px"))
        memo = w.Text(placeholder="memo (optional)", layout=w.Layout(width="260px"))
        result = w.HTML()
        buttons = [w.Button(description="Accept", button_style="success", icon="check", layout=w.Layout(width="100px")),
                   w.Button(description="Reject", button_style="danger", icon="times", layout=w.Layout(width="100px")),
                   w.Button(description="Recode", button_style="warning", icon="pencil", layout=w.Layout(width="100px")),
                   w.Button(description="Undo", icon="undo", layout=w.Layout(width="90px"), disabled=True)]
        card = w.VBox([head, w.HBox([*buttons[:2], recode_to, buttons[2], memo, buttons[3]]), result])
        card.add_class("wb-card")
        card.add_class(f"wb-item-{i}")
        card.memo, card.recode_to, card.result, card.buttons = memo, recode_to, result, buttons
        buttons[0].on_click(lambda _: self.accept(i))
        buttons[1].on_click(lambda _: self.reject(i))
        buttons[2].on_click(lambda _: self.recode(i, recode_to.value))
        buttons[3].on_click(lambda _: self.undo(i))
        return card

    # ------------------------------------------------------------------ decisions
    def _decide(self, i: int, action: str, code_id: str | None = None) -> None:
        card = self.cards.children[i]
        try:
            decide(self.store, self.page.iloc[i], action, coder=self.coder.value, code_id=code_id, memo=card.memo.value)
        except WorkbenchError as e:
            card.result.value = message("error", str(e))
            return
        what = {"accept": "accepted", "reject": "rejected", "recode": f"recoded to {code_id}"}[action]
        card.result.value = message("ok", f"Saved: {what} by {self.coder.value.strip()}.")
        card.add_class("wb-done")
        for b in card.buttons[:3]:
            b.disabled = True
        card.buttons[3].disabled = False
        self._show_counts()

    def accept(self, i: int) -> None:
        self._decide(i, "accept")

    def reject(self, i: int) -> None:
        self._decide(i, "reject")

    def recode(self, i: int, code_id: str) -> None:
        self._decide(i, "recode", code_id)

    def undo(self, i: int) -> None:
        card = self.cards.children[i]
        undo(self.store, self.page.iloc[i], coder=self.coder.value)
        card.result.value = message("info", "Undone: the suggestion is back in the queue.")
        card.remove_class("wb-done")
        for b in card.buttons[:3]:
            b.disabled = False
        card.buttons[3].disabled = True
        self._show_counts()

    def close(self) -> None:
        self.store.close()
        super().close()
