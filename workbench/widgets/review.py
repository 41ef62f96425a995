"""Review panel: one card per excerpt with all its suggested codes, accepted or fixed at once, saved at once."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import pandas as pd

from ..decisions import is_human
from ..errors import WorkbenchError
from ..coding.run import study_coverage_lines
from ..review import (NO_CODE, CardQueue, card_details, codebook_codes, decide_card, queue_counts, review_summary, uncovered,
                      uncovered_cards, undo_card)
from ..store import Store
from ._common import STYLE, esc, message, table

PAGE = 10
LABELS = {"stage": "Stage", "pain_point": "Pain point", "emotion": "Emotion", "touchpoint": "Touchpoint",
          "actor": "Actor", "backstage": "Backstage", "opportunity": "Opportunity", "activity": "Activity",
          "thought": "Thought"}


class ReviewPanel(w.VBox):
    """The review cards, a page at a time: one card per excerpt, one row per suggested dimension.

    Every button is a headless method too, acting on card ``i`` of ``panel.page`` and writing to the
    study at once: ``panel.accept_card(i, overrides=None)`` (what **Accept all** does: the values
    the card's dropdowns show, ``overrides`` changing some, e.g. ``{"stage": "service"}`` or
    ``{"emotion": "(none)"}``), ``panel.accept(i)`` / ``panel.accept(i, "stage")`` (the suggestions
    as made), ``panel.reject(i, "emotion")``, ``panel.recode(i, "waiting")`` (the dimension is the
    one whose codes contain it; pass ``dimension=`` when several do), ``panel.skip(i)`` and
    ``panel.undo()`` (the last card decision). Buttons and fields are reachable with Tab and
    pressed with Enter or Space.
    """

    def __init__(self, study: str | Path, coder: str = "researcher", page_size: int = PAGE, stage_model: str | None = None):
        self.study = Path(study)
        self.page_size = page_size
        self.store = Store.open(self.study)
        self.codes = codebook_codes(self.store, stage_model)
        src = self.store.sources()
        counts = self.store.coding_counts()
        dims = [d for d in LABELS if d in set(counts["dimension"])] + sorted(set(counts["dimension"]) - set(LABELS))
        coders = sorted(c for c in set(counts["coder"]) if not is_human(c))
        opt = {"style": {"description_width": "80px"}, "layout": w.Layout(width="260px")}
        self.coder = w.Text(value=coder, description="You are", **opt)
        self.dimension = w.Dropdown(options=[("all", "")] + [(d, d) for d in dims], description="Dimension", **opt)
        self.order = w.Dropdown(options=[("least certain first", "uncertainty"), ("by code", "code"),
                                         ("reading order", "source")], description="Order", **opt)
        self.source = w.Dropdown(options=[("all", "")] + [(n, i) for n, i in zip(src["name"], src["source_id"])],
                                 description="Source", **opt)
        self.segment = w.Dropdown(options=[("all", "")] + [(s, s) for s in sorted(src["segment"].dropna().unique())],
                                  description="Segment", **opt)
        self.machine = w.Dropdown(options=[("all", "")] + [(c, c) for c in coders], description="Coder", **opt)
        # the excerpts no coder covers in some dimension (their language) have no suggestion: coded by hand here
        self.mode = w.Dropdown(options=[("review suggestions", "review"), ("code by hand: no coder covers", "hand")],
                               description="Cards", **opt)
        self.prev_button = w.Button(description="Previous", icon="arrow-left", layout=w.Layout(width="110px"))
        self.next_button = w.Button(description="Next", icon="arrow-right", layout=w.Layout(width="110px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="110px"),
                                       tooltip="Reload the cards (decided excerpts leave them)")
        self.undo_button = w.Button(description="Undo last", icon="undo", layout=w.Layout(width="110px"), disabled=True,
                                    tooltip="Take back the last card decision")
        self.where = w.HTML()
        self.progress = w.HTML()
        self.languages = w.HTML()        # what no coder covers ("2 excerpts in Romanian (ro): no coder covers …")
        self.counts = w.HTML()
        self.status = w.HTML()
        self.cards = w.VBox()
        self.page_no = 0
        self.queue: CardQueue | None = None
        self.page = pd.DataFrame()
        self.history: list[tuple[str, list[str], int]] = []     # (excerpt_id, dimensions, card index) per decision
        for f in (self.dimension, self.order, self.source, self.segment, self.machine, self.mode):
            f.observe(lambda _: self.load(), names="value")
        self.prev_button.on_click(lambda _: self.show_page(self.page_no - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page_no + 1))
        self.refresh_button.on_click(lambda _: self.load(keep_page=True))
        self.undo_button.on_click(lambda _: self.undo())
        super().__init__([w.HTML(STYLE + "<b>Review cards</b>"), self.progress, self.languages,
                          w.HBox([self.coder, self.dimension, self.order]),
                          w.HBox([self.source, self.segment, self.machine]), self.mode,
                          w.HBox([self.prev_button, self.next_button, self.refresh_button, self.undo_button, self.where]),
                          self.status, self.cards, self.counts])
        self.add_class("wb-review")
        self.load()

    # ------------------------------------------------------------------ cards
    @property
    def _filters(self) -> dict:
        return {"dimensions": [self.dimension.value] if self.dimension.value else None,
                "coder": self.machine.value or None}

    def load(self, keep_page: bool = False) -> CardQueue:
        """Reload the ordered cards (one row per excerpt, without texts) and show a page."""
        if self.mode.value == "hand":
            self.queue = _HandQueue(uncovered(self.store))
        else:
            self.queue = CardQueue(self.store, order=self.order.value, source=self.source.value or None,
                                   segment=self.segment.value or None, **self._filters)
        self._show_counts()
        self.show_page(self.page_no if keep_page else 0)
        return self.queue

    def _show_counts(self, per_dimension: bool = True) -> None:
        """The count line (after every decision); the per-dimension table too when the cards are (re)loaded."""
        mine = f"{len(self.queue):,} card{'s' if len(self.queue) != 1 else ''} match these filters"
        self.progress.value = (f'<div class="wb-progress" role="status"><b>{esc(review_summary(self.store))}</b>'
                               f'<span class="wb-meta"> in the whole study · {esc(mine)}</span></div>')
        if per_dimension:
            self.counts.value = table(queue_counts(self.store), caption="left to review / decided, per dimension")
            lines = study_coverage_lines(self.store.info())
            hand = len(self.queue) if isinstance(self.queue, _HandQueue) else len(uncovered(self.store)) if lines else 0
            if hand:
                lines.append(f"{hand:,} excerpt{'s' if hand != 1 else ''} to code by hand: set Cards to "
                             "'code by hand: no coder covers'.")
            self.languages.value = "".join(f"<div class='wb-meta'>{esc(line)}</div>" for line in lines)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.queue) // self.page_size))

    def show_page(self, k: int) -> pd.DataFrame:
        self.page_no = min(max(0, k), self.pages - 1)
        if isinstance(self.queue, _HandQueue):
            self.page = uncovered_cards(self.store, limit=self.page_size, offset=self.page_no * self.page_size,
                                        todo=self.queue.frame)
        else:
            rows = self.queue.rows(self.page_no * self.page_size, (self.page_no + 1) * self.page_size)
            self.page = card_details(self.store, rows, **self._filters)
        self.where.value = f'<span class="wb-meta">page {self.page_no + 1} of {self.pages}</span>'
        self.prev_button.disabled = self.page_no == 0
        self.next_button.disabled = self.page_no >= self.pages - 1
        self.cards.children = [self._card(i, r) for i, r in self.page.iterrows()]
        if self.page.empty:
            self.cards.children = [w.HTML(message("ok", "Nothing left to review with these filters."))]
        return self.page

    def _card(self, i: int, r: pd.Series) -> w.VBox:
        head = w.HTML(
            f"<div class='wb-meta'>{esc(r['source_name'])} · {esc(r['speaker'])} · segment {esc(r['segment'] or '—')} · "
            f"characters {int(r['start'])}–{int(r['end'])} · "
            + (f"uncertainty {float(r['uncertainty']):.2f} · " if pd.notna(r["uncertainty"]) else "nothing suggested · ")
            + f"<code>{esc(r['excerpt_id'])}</code></div>"
            + (f"<div class='wb-ctx'>{esc(r['before'])}</div>" if r["before"] else "")
            + f"<div class='wb-quote'>{esc(r['text'])}</div>"
            + (f"<div class='wb-ctx'>{esc(r['after'])}</div>" if r["after"] else ""))
        rows, choices, also = [], {}, {}
        for dim in r["dimensions"]:
            code = str(r[dim])
            codes = list(dict.fromkeys([*self.codes.get(dim, []), code, NO_CODE]))
            choice = w.Dropdown(options=codes, value=code, description=LABELS.get(dim, dim),
                                style={"description_width": "90px"}, layout=w.Layout(width="300px"))
            alt = r[f"{dim}_alternatives"]
            conf = r[f"{dim}_confidence"]
            why = w.HTML("<span class='wb-meta'>" + (f"confidence {float(conf):.2f} · {esc(r[f'{dim}_coder'])} · "
                                                     if pd.notna(conf) else "") + esc(r[f"{dim}_rationale"])
                         + (f" · other suggestions: {esc(alt)}" if isinstance(alt, str) and alt else "") + "</span>")
            choices[dim] = choice
            more = r.get(f"{dim}_also_codes")
            # the coder's further codes here (several emotions): ticked, they are saved with the main one
            also[dim] = [w.Checkbox(value=True, description=f"also {c}", indent=False, layout=w.Layout(width="auto"))
                         for c in (more if isinstance(more, list) else [])]
            row = w.HBox([choice, *also[dim], why])
            row.add_class(f"wb-dim-{dim}")
            rows.append(row)
        decided = [f"{esc(LABELS.get(d, d))}: {esc(c) if c else esc(NO_CODE)}" for d, c in r["decided"].items()]
        done = w.HTML(f"<div class='wb-meta'>already decided: {' · '.join(decided)}</div>" if decided else "")
        memo = w.Text(placeholder="memo (optional)", layout=w.Layout(width="300px"))
        result = w.HTML()
        buttons = [w.Button(description="Accept all", button_style="success", icon="check", layout=w.Layout(width="120px"),
                            tooltip="Save every dimension as shown (a changed value is a recode)"),
                   w.Button(description="Skip", icon="forward", layout=w.Layout(width="90px"),
                            tooltip="Leave this excerpt for later")]
        card = w.VBox([head, *rows, done, w.HBox([*buttons, memo]), result])
        card.add_class("wb-card")
        card.add_class(f"wb-item-{i}")
        card.choices, card.also, card.memo, card.result, card.buttons = choices, also, memo, result, buttons
        buttons[0].on_click(lambda _: self.accept_card(i))
        buttons[1].on_click(lambda _: self.skip(i))
        return card

    # ------------------------------------------------------------------ decisions
    def accept_card(self, i: int, overrides: dict[str, str] | None = None) -> bool:
        """Save card ``i`` as its dropdowns show it (``overrides`` sets some first), in one transaction."""
        card = self.cards.children[i]
        for dim, value in (overrides or {}).items():
            if dim not in card.choices:
                card.result.value = message("error", f"This card has no {dim} to decide; it has "
                                                     f"{', '.join(card.choices)}.")
                return False
            value = {"reject": NO_CODE, "accept": str(self.page.iloc[i][dim])}.get(value, value)
            if value not in card.choices[dim].options:
                card.result.value = message("error", f"{value!r} is not a {dim} code; pick one of "
                                                     f"{', '.join(card.choices[dim].options)}.")
                return False
            card.choices[dim].value = value
        return self._save(i, {dim: self._shown(card, dim) for dim in card.choices})

    @staticmethod
    def _shown(card, dim: str) -> str | list[str]:
        """What a dimension of the card says: its dropdown's code, with the ticked "also" codes when there are any."""
        code = card.choices[dim].value
        boxes = card.also.get(dim, [])
        if code == NO_CODE or not boxes:
            return code
        return list(dict.fromkeys([code, *(b.description.removeprefix("also ") for b in boxes if b.value)]))

    def accept(self, i: int, dimension: str | None = None) -> bool:
        """Accept card ``i``'s suggestions as the machine made them: all, or one dimension."""
        dims = [dimension] if dimension else list(self.cards.children[i].choices)
        return self._save(i, {d: "accept" for d in dims})

    def reject(self, i: int, dimension: str | None = None) -> bool:
        """No code in this dimension (or in any dimension of the card)."""
        dims = [dimension] if dimension else list(self.cards.children[i].choices)
        return self._save(i, {d: NO_CODE for d in dims})

    def recode(self, i: int, code_id: str, dimension: str | None = None) -> bool:
        """Recode one dimension of card ``i`` to ``code_id`` (the dimension whose codebook has that code)."""
        card = self.cards.children[i]
        if dimension is None:
            dims = [d for d, c in card.choices.items() if code_id in c.options]
            if len(dims) != 1:
                card.result.value = message("error", f"{code_id!r} is a code of {', '.join(dims) or 'no dimension'} "
                                                     "on this card; say which: recode(i, code, dimension=...).")
                return False
            dimension = dims[0]
        return self._save(i, {dimension: code_id})

    def _save(self, i: int, choices: dict[str, str]) -> bool:
        card = self.cards.children[i]
        excerpt = str(self.page.iloc[i]["excerpt_id"])
        try:
            decide_card(self.store, excerpt, choices, coder=self.coder.value, memo=card.memo.value, codes=self.codes)
        except WorkbenchError as e:
            card.result.value = message("error", str(e))
            return False
        for dim, value in choices.items():          # the card shows what was saved
            shown = str(self.page.iloc[i][dim]) if value == "accept" else value[0] if isinstance(value, list) else value
            if shown in card.choices[dim].options:
                card.choices[dim].value = shown
            for box in card.also.get(dim, []):
                box.value = value == "accept" or (isinstance(value, list) and box.description.removeprefix("also ") in value)
        saved = "; ".join(f"{dim} {' + '.join(v) if isinstance(v := self._shown(card, dim), list) else v}" for dim in choices)
        card.result.value = message("ok", f"Saved by {self.coder.value.strip()}: {saved}.")
        card.add_class("wb-done")
        self.history.append((excerpt, list(choices), i))
        self.undo_button.disabled = False
        self._show_counts(per_dimension=False)
        return True

    def skip(self, i: int) -> None:
        """Leave card ``i`` undecided (it stays in the queue) and fold it away."""
        card = self.cards.children[i]
        card.add_class("wb-done")
        card.result.value = message("info", "Skipped: still to review.")

    def undo(self) -> bool:
        """Take back the last card decision: its excerpt's suggestions are back in the queue."""
        if not self.history:
            self.status.value = message("info", "Nothing to undo.")
            return False
        excerpt, dims, i = self.history.pop()
        undo_card(self.store, excerpt, dims, coder=self.coder.value)
        self.undo_button.disabled = not self.history
        note = f"Undone: the decision on {excerpt} ({', '.join(dims)}) is taken back; the excerpt is back in the queue."
        self.status.value = message("info", note)
        if i < len(self.cards.children) and i < len(self.page) and self.page.iloc[i]["excerpt_id"] == excerpt:
            card = self.cards.children[i]
            card.remove_class("wb-done")
            card.result.value = message("info", "Undone.")
        self._show_counts(per_dimension=False)
        return True

    def close(self) -> None:
        self.store.close()
        super().close()


class _HandQueue:
    """The excerpts to code by hand (:func:`~workbench.review.uncovered`), with a card queue's ``len`` and columns."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, column: str) -> pd.Series:
        return self.frame[column]
