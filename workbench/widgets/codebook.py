"""Codebook panel: browse and edit codes (label, definition, cues and examples in EN/ES), add, merge,
load and save YAML, and choose the study's stage model. Every edit is validated at once."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from ..codebook import add_code, builtin_names, edit_code, merge_codes, resolve, save_codebook, to_yaml
from ..errors import WorkbenchError
from ..model import Codebook
from ..store import Store
from ._common import STYLE, message

LANGS = ("en", "es")


class CodebookPanel(w.VBox):
    """Edit a codebook in place; ``panel.codebook`` is the current, valid version.

    Headless: ``panel.select(code_id)``, ``panel.save_code(...)``, ``panel.add(...)``,
    ``panel.merge(keep, drop)``, ``panel.save(path)``, ``panel.load(name_or_path)``,
    ``panel.use_as_stage_model()``.
    """

    def __init__(self, codebook: str | Path = "pain_points", study: str | Path | None = None):
        self.study = Path(study) if study else None
        self.codebook: Codebook = resolve(str(codebook))
        opt = {"style": {"description_width": "90px"}, "layout": w.Layout(width="95%")}
        self.source = w.Combobox(value=str(codebook), options=builtin_names(), description="Codebook",
                                 placeholder="shipped name or a .yaml path", ensure_option=False,
                                 style={"description_width": "90px"})
        self.load_button = w.Button(description="Load", icon="folder-open")
        self.code = w.Dropdown(description="Code", style={"description_width": "90px"})
        self.label = w.Text(description="Label", **opt)
        self.definition = w.Textarea(description="Definition", rows=2, **opt)
        self.cues = {k: w.Textarea(description=f"Cues ({k})", rows=2, placeholder="separated by ';'", **opt) for k in LANGS}
        self.examples = {k: w.Textarea(description=f"Examples ({k})", rows=2, placeholder="separated by ';'", **opt)
                         for k in LANGS}
        self.save_code_button = w.Button(description="Save code", icon="check", button_style="success")
        self.new_id = w.Text(placeholder="new_code_id", layout=w.Layout(width="160px"))
        self.new_label = w.Text(placeholder="label", layout=w.Layout(width="200px"))
        self.new_definition = w.Text(placeholder="definition: when does this code apply?", layout=w.Layout(width="360px"))
        self.add_button = w.Button(description="Add code", icon="plus")
        self.keep = w.Dropdown(description="Merge", style={"description_width": "60px"}, layout=w.Layout(width="260px"))
        self.drop = w.Dropdown(description="into it", style={"description_width": "60px"}, layout=w.Layout(width="260px"))
        self.recode_study = w.Checkbox(value=bool(self.study), description="recode the study too", indent=False)
        self.merge_button = w.Button(description="Merge", icon="compress")
        self.path = w.Text(placeholder="my_codebook.yaml", description="Save as", style={"description_width": "90px"})
        self.save_button = w.Button(description="Save YAML", icon="save", button_style="primary")
        self.stage_button = w.Button(description="Use as the study's stage model", icon="map",
                                     layout=w.Layout(width="260px"), disabled=self.study is None)
        self.status = w.HTML()
        self.load_button.on_click(lambda _: self._safe(lambda: self.load(self.source.value)))
        self.code.observe(lambda ch: self.select(ch["new"]) if ch["new"] else None, names="value")
        self.save_code_button.on_click(lambda _: self._safe(self.save_code))
        self.add_button.on_click(lambda _: self._safe(lambda: self.add(self.new_id.value, self.new_label.value, self.new_definition.value)))
        self.merge_button.on_click(lambda _: self._safe(lambda: self.merge(self.keep.value, self.drop.value)))
        self.save_button.on_click(lambda _: self._safe(lambda: self.save(self.path.value)))
        self.stage_button.on_click(lambda _: self._safe(self.use_as_stage_model))
        super().__init__([w.HTML(STYLE + "<b>Codebook</b>"), w.HBox([self.source, self.load_button]), self.code,
                          self.label, self.definition, *self.cues.values(), *self.examples.values(), self.save_code_button,
                          w.HBox([self.new_id, self.new_label, self.new_definition, self.add_button]),
                          w.HBox([self.drop, self.keep, self.recode_study, self.merge_button]),
                          w.HBox([self.path, self.save_button, self.stage_button]), self.status])
        self.add_class("wb-codebook")
        self._refresh()

    def _safe(self, action) -> None:
        try:
            action()
        except (WorkbenchError, KeyError, ValueError) as e:
            self.status.value = message("error", str(e).strip('"'))

    def _refresh(self, selected: str | None = None) -> None:
        ids = [c.code_id for c in (self.codebook.ordered if self.codebook.kind == "stage_model" else self.codebook.codes)]
        options = [(f"{c} — {self.codebook.get(c).label}", c) for c in ids]
        self.code.options = options
        self.keep.options = options
        self.drop.options = options
        self.code.value = selected if selected in ids else (ids[0] if ids else None)
        if self.code.value:
            self.select(self.code.value)

    def use(self, codebook: Codebook, selected: str | None = None) -> None:
        """Edit ``codebook`` (e.g. one with a candidate code from a theme), showing code ``selected``."""
        self.codebook = codebook
        self._refresh(selected)

    def load(self, name_or_path: str) -> Codebook:
        self.codebook = resolve(name_or_path.strip())
        self._refresh()
        self.status.value = message("ok", f"Loaded {self.codebook.name} v{self.codebook.version}: {len(self.codebook.codes)} codes.")
        return self.codebook

    def select(self, code_id: str) -> None:
        c = self.codebook.get(code_id)
        self.label.value, self.definition.value = c.label, c.definition
        for k in LANGS:
            self.cues[k].value = "; ".join(c.cues.get(k, ()))
            self.examples[k].value = "; ".join(c.examples.get(k, ()))

    def save_code(self) -> Codebook:
        """Apply the fields to the selected code (validated; the codebook is unchanged if invalid)."""
        code_id = self.code.value
        self.codebook = edit_code(self.codebook, code_id, label=self.label.value, definition=self.definition.value,
                                  cues={k: f.value for k, f in self.cues.items()},
                                  examples={k: f.value for k, f in self.examples.items()})
        self._refresh(code_id)
        self.status.value = message("ok", f"Code {code_id} updated (not yet saved to a file).")
        return self.codebook

    def add(self, code_id: str, label: str, definition: str, **attributes) -> Codebook:
        if self.codebook.dimension == "pain_point" and "severity" not in attributes:
            attributes["severity"] = {1: "minor", 2: "serious", 3: "blocking"}
        self.codebook = add_code(self.codebook, code_id, label, definition, **attributes)
        self._refresh(code_id.strip())
        self.status.value = message("ok", f"Added {code_id.strip()}; add its cues and examples, then Save code.")
        return self.codebook

    def merge(self, keep: str, drop: str) -> Codebook:
        self.codebook = merge_codes(self.codebook, keep, drop)
        n = 0
        if self.recode_study.value and self.study:
            with Store.open(self.study) as s:
                n = s.recode(self.codebook.dimension, drop, keep)
        self._refresh(keep)
        self.status.value = message("ok", f"Merged {drop} into {keep}" + (f"; {n} codings in the study recoded." if n else "."))
        return self.codebook

    def save(self, path: str | Path) -> Path:
        if not str(path).strip():
            raise WorkbenchError("Type a file name to save to, e.g. my_codebook.yaml.")
        p = save_codebook(self.codebook, Path(str(path).strip()))
        self.status.value = message("ok", f"Saved {self.codebook.name} to {p}.")
        return p

    def use_as_stage_model(self) -> None:
        """Record this codebook as the study's stage model (the map and the coder use it from now on)."""
        if self.codebook.kind != "stage_model":
            raise WorkbenchError(f"{self.codebook.name} is not a stage model (it has no ordered stages); load one, "
                                 f"e.g. {', '.join(n for n in builtin_names() if resolve(n).kind == 'stage_model')}.")
        with Store.open(self.study) as s:
            s.set_info({"coding.stage_model": self.codebook.name, "coding.stage_model_yaml": to_yaml(self.codebook)})
        self.status.value = message("ok", f"The study now maps with {self.codebook.name}.")
