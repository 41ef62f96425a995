"""Segmentation: spaCy blank + sentencizer by default, a trained pipeline when installed."""
from __future__ import annotations

import sys
import textwrap

import pytest

from workbench.errors import WorkbenchError
from workbench.nlp import Segmenter, SegmentSettings
import workbench.nlp as nlp_mod


def test_short_sentences_join_a_neighbour_and_long_ones_split():
    seg = Segmenter(SegmentSettings(pipeline="blank", min_chars=12, max_chars=80))
    text = "Yeah. I waited forty minutes on hold. Sí. " + "and then they said, you know, call back tomorrow, " * 3
    spans = seg.spans(text, "en")
    quotes = [text[a:b] for a, b in spans]
    assert quotes[0] == "Yeah. I waited forty minutes on hold."
    assert all(len(q) <= 80 for q in quotes) and len(quotes) >= 3
    assert all(q == q.strip() and q for q in quotes)


def test_spanish_inverted_marks():
    seg = Segmenter(SegmentSettings(pipeline="blank"))
    text = "¿Cuánto tardó la tarjeta? Doce días, y nadie me avisó. ¡Increíble!"
    assert [text[a:b] for a, b in seg.spans(text, "es")] == [
        "¿Cuánto tardó la tarjeta?", "Doce días, y nadie me avisó. ¡Increíble!"]


def test_missing_named_pipeline_is_a_clear_error(tmp_path, cli, study):
    with pytest.raises(WorkbenchError, match="not installed; install it .* or use --pipeline blank"):
        Segmenter(SegmentSettings(pipeline="xx_no_such_pipeline"))
    p = tmp_path / "p.txt"
    p.write_text("Interviewer: Hi?\nP1: Hello.\n")
    code, _, err = cli("ingest", p, "--study", study, "--pipeline", "xx_no_such_pipeline")
    assert code == 2 and err.startswith("error: spaCy pipeline 'xx_no_such_pipeline' is not installed")


def test_trained_pipeline_is_used_when_installed(tmp_path, monkeypatch):
    """With pipeline='auto', an installed trained package wins over blank, and is recorded."""
    pkg = tmp_path / "fake_trained_en"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        import spacy
        def load(**kwargs):
            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer", config={"punct_chars": ["|"]})  # distinguishable from blank
            nlp.meta["version"] = "9.9.9"
            return nlp
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(nlp_mod.TRAINED, "en", ("fake_trained_en",))
    seg = Segmenter(SegmentSettings(pipeline="auto"))
    text = "One thing here | another thing there. Still the second one."
    assert [text[a:b] for a, b in seg.spans(text, "en")] == ["One thing here |", "another thing there. Still the second one."]
    assert seg.used["en"] == "fake_trained_en@9.9.9"
    blank = Segmenter(SegmentSettings(pipeline="blank"))
    assert len(blank.spans(text, "en")) == 2 and blank.used["en"].startswith("blank:en")
    sys.modules.pop("fake_trained_en", None)


def test_unknown_language_falls_back_to_multilingual_blank():
    seg = Segmenter(SegmentSettings(pipeline="blank"))
    assert seg.spans("Ein Satz hier. Noch ein Satz dort.", "zz")
    assert seg.used["zz"].startswith("blank:xx")


def test_spanish_opening_marks_stay_with_their_sentence():
    seg = Segmenter(SegmentSettings(pipeline="blank", min_chars=1))
    text = "Vale, eso me lo han explicado bien. ¿Qué papeles necesito? ¡Gracias! «Perfecto», dijo."
    assert [text[a:b] for a, b in seg.spans(text, "es")] == [
        "Vale, eso me lo han explicado bien.", "¿Qué papeles necesito?", "¡Gracias!", "«Perfecto», dijo."]
