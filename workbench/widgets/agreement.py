"""Agreement panel: two coders side by side, kappa / alpha, and the excerpts they disagree on."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from ..decisions import is_human
from ..errors import WorkbenchError
from ..review import Comparison, compare_coders
from ..store import Store
from ._common import STYLE, message, table


class AgreementPanel(w.VBox):
    """Pick two coders (human or machine) and a dimension; ``panel.compare()`` runs it headless."""

    def __init__(self, study: str | Path, coder_a: str | None = None, coder_b: str | None = None, dimension: str | None = None):
        self.study = Path(study)
        with Store.open(self.study) as s:
            c = s.coding_counts()
        coders = sorted(set(c["coder"]), key=lambda x: (not is_human(x), x))
        dims = sorted(set(c["dimension"]))
        opt = {"style": {"description_width": "80px"}}
        self.coder_a = w.Dropdown(options=coders, value=coder_a or (coders[0] if coders else None), description="Coder A", **opt)
        self.coder_b = w.Dropdown(options=coders, value=coder_b or (coders[1] if len(coders) > 1 else None),
                                  description="Coder B", **opt)
        self.dimension = w.Dropdown(options=dims, value=dimension or (dims[0] if dims else None), description="Dimension", **opt)
        self.button = w.Button(description="Compare", icon="balance-scale", button_style="primary")
        self.result = w.HTML()
        self.button.on_click(lambda _: self.compare())
        super().__init__([w.HTML(STYLE + "<b>Agreement between coders</b>"),
                          w.HBox([self.coder_a, self.coder_b, self.dimension, self.button]), self.result])
        self.add_class("wb-agreement")

    def compare(self) -> Comparison | None:
        if self.coder_a.value == self.coder_b.value:
            self.result.value = message("error", "Pick two different coders.")
            return None
        try:
            with Store.open(self.study) as s:
                cmp = compare_coders(s, self.coder_a.value, self.coder_b.value, self.dimension.value)
        except WorkbenchError as e:
            self.result.value = message("error", str(e))
            return None
        r = cmp.report
        self.result.value = (
            f"<p>{r.n} excerpts coded by both · agreement {r.accuracy:.0%} · Cohen's kappa <b>{r.kappa:.2f}</b> · "
            f"Krippendorff's alpha <b>{r.alpha:.2f}</b> · {len(cmp.disagreements)} disagreements</p>"
            + table(cmp.disagreements.rename(columns={"code_a": cmp.coder_a, "code_b": cmp.coder_b}),
                    ["excerpt_id", cmp.coder_a, cmp.coder_b, "source_name", "start", "end", "text"], caption="Disagreements"))
        return cmp
