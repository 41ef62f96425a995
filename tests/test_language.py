"""Language detection: per turn and per source, English and Spanish, mixed sources flagged."""
from __future__ import annotations

import pytest

from conftest import write
from workbench.ingest import read_path
from workbench.language import detect, summarise


@pytest.mark.parametrize("text,lang", [
    ("Still no card, day 12", "en"),
    ("I was on hold for forty minutes and nobody picked up.", "en"),
    ("Yeah.", "en"),
    ("Llevo tres días esperando la tarjeta.", "es"),
    ("Vale.", "es"),
    ("¿Y eso cuánto cuesta?", "es"),
    ("Pues la app bien, pero el selfie fue un desastre.", "es"),
    ("Je ne sais pas, c'est très compliqué pour moi.", "fr"),
    ("12345 !!!", "und"),
])
def test_detect(text, lang):
    assert detect(text).language == lang


def test_summarise_flags_mixed_sources():
    assert summarise([("en", 700), ("es", 300), ("und", 50)]) == ("en", {"en": 0.7, "es": 0.3}, True)
    assert summarise([("es", 950), ("en", 50)])[2] is False
    assert summarise([("und", 10)]) == ("und", {}, False)


def test_code_switching_interview_is_mixed_and_turns_keep_their_language(tmp_path):
    p = write(tmp_path / "p8.txt",
              "Interviewer: How did you open the account?\n"
              "Marco: Through the app, it was quick and the card came in three days.\n"
              "Interviewer: And the verification?\n"
              "Marco: Bueno, la verificación fue un desastre, tuve que repetir el selfie cuatro veces.\n"
              "Interviewer: Why did you stay?\n"
              "Marco: Porque al final la app funciona bien y no me cobran comisiones, la verdad.\n")
    [s] = read_path(p).sources
    assert s.mixed_language and set(s.languages) == {"en", "es"}
    assert [t.language for t in s.turns] == ["en", "en", "en", "es", "en", "es"]


def test_declared_language_overrides_detection_but_detection_is_kept(tmp_path):
    p = write(tmp_path / "p.txt", "Interviewer: Hello, how are you?\nP1: Fine, thanks, and you?\n")
    [s] = read_path(p, flags={"language": "es"}).sources
    assert s.language == "es" and s.meta["detected_language"] == "en"
