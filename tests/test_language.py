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
    ("¿Y eso cuánto cuesta?", "es"),
    ("Pues la app bien, pero el selfie fue un desastre.", "es"),
    ("Je ne sais pas, c'est très compliqué pour moi.", "fr"),
    ("Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon.", "ro"),
    ("Esperei três semanas pelo cartão e ninguém me atendeu.", "pt"),
    ("Ich habe drei Wochen auf die Karte gewartet.", "de"),
    ("Ho aspettato tre settimane la carta e nessuno mi ha risposto.", "it"),
    ("Ik heb drie weken op de kaart gewacht.", "nl"),
    ("Czekałem trzy tygodnie na kartę i nikt nie odebrał telefonu.", "pl"),
    ("12345 !!!", "und"),
])
def test_detect(text, lang):
    assert detect(text).language == lang


def test_a_filler_alone_is_undetermined_or_weak_and_takes_its_sources_language(tmp_path):
    # "ok" scores Afrikaans first and "Vale" is Spanish and Catalan: alone they say little, so a turn
    # keeps its own language only when detected with confidence, else it takes its source's
    from workbench.language import CONFIDENT
    assert detect("Vale.").language == "und" or detect("Vale.").confidence < CONFIDENT
    assert detect("ok").confidence < CONFIDENT
    p = write(tmp_path / "call.txt", "Agent: Thank you for calling, how can I help you today?\n"
                                     "Customer: ok\nAgent: Could you tell me your account number please?\n"
                                     "Customer: My card never arrived and I have been waiting for three weeks.\n")
    [s] = read_path(p).sources
    assert s.language == "en" and not s.mixed_language and {t.language for t in s.turns} == {"en"}
    p = write(tmp_path / "es.txt", "Entrevistadora: ¿Cómo abriste la cuenta?\nLucía: Vale.\n"
                                   "Entrevistadora: ¿Y la verificación?\nLucía: Fue un desastre, repetí el selfie cuatro veces.\n")
    [s] = read_path(p).sources
    assert s.language == "es" and [t.language for t in s.turns] == ["es"] * 4


def test_a_romanian_interview_is_stored_as_romanian_not_mixed(tmp_path):
    p = write(tmp_path / "interviu.txt",
              "Intervievator: Cum ați deschis contul?\n"
              "Ana: Din aplicație, a fost simplu, dar cardul a întârziat foarte mult.\n"
              "Intervievator: Cât ați așteptat?\n"
              "Ana: Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon.\n")
    [s] = read_path(p).sources
    assert s.language == "ro" and not s.mixed_language and {t.language for t in s.turns} == {"ro"}


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


def test_a_close_neighbour_of_the_sources_language_is_the_sources_language(tmp_path):
    # "Pilar al habla" scores Aragonese first (0.77, Spanish 0.14): in a Spanish call it is Spanish
    p = write(tmp_path / "llamada.txt", "Pilar: Oficina de Zaragoza centro, Pilar al habla.\n"
                                        "Lucía: Hola Pilar, soy Lucía, la de la gestoría. Te llamo para darte las gracias.\n"
                                        "Pilar: ¡Qué bien! ¿Ya pueden entrar tus compañeras?\n"
                                        "Lucía: Sí, las dos, y yo apruebo los pagos desde el móvil.\n")
    [s] = read_path(p).sources
    assert detect("Oficina de Zaragoza centro, Pilar al habla.").language == "an"
    assert s.language == "es" and not s.mixed_language and {t.language for t in s.turns} == {"es"}


def test_an_import_records_which_language_detector_chose_its_languages(tmp_path):
    """Provenance: a study says which models (and versions) decided each import's languages."""
    import json
    from importlib.metadata import version

    from workbench.pipeline import ingest_paths
    from workbench.store import Store
    p = write(tmp_path / "interviu.txt",
              "Intervievator: Cum ați deschis contul?\n"
              "Ana: Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon.\n")
    with Store.create(tmp_path / "s.db") as s:
        ingest_paths(s, [p], progress=False, workers=1)
        [settings] = [json.loads(x) for x in s.query("SELECT settings FROM imports")["settings"]]
    assert f"py3langid {version('py3langid')}" in settings["language_detector"]
    assert f"lingua {version('lingua-language-detector')}" in settings["language_detector"]


def test_low_accuracy_mode_is_asked_for_by_name_and_recorded():
    import os
    import subprocess
    import sys

    code = ("import workbench.language as l; "
            "print(l.LINGUA_LOW_ACCURACY, l.detector_id(), l.detect('Am așteptat trei săptămâni cardul de la bancă').language)")
    out = {v: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={k: x for k, x in os.environ.items() if k != "WORKBENCH_LANGID"} | ({"WORKBENCH_LANGID": v} if v else {})
                             ).stdout.split() for v in ("", "low")}
    assert out[""][0] == "False" and "low-accuracy" not in " ".join(out[""])   # the default: the accurate models
    assert out["low"][0] == "True" and "low-accuracy" in " ".join(out["low"])  # imports record which one ran
    assert out[""][-1] == out["low"][-1] == "ro"
