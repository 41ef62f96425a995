"""PII redaction at ingest (workbench/redact.py, ingest --redact): detectors, numbering, offsets, leaks."""
from __future__ import annotations

import sqlite3
import zipfile

import pytest

from conftest import write
from workbench.errors import InputError
from workbench.ingest import ReadOptions
from workbench.model import Source, Turn
from workbench.pipeline import ingest_paths, redaction_summary
from workbench.redact import Redactor, dni_ok, iban_ok, luhn_ok, nie_ok, phone_ok, ssn_ok
from workbench.store import Store


def red(text: str, **kw) -> str:
    return Redactor(salt="test", **kw).redact(text).text


@pytest.mark.parametrize("text, typ", [
    ("write to ana.garcia@example.com today", "EMAIL"),
    ("escríbeme a j_lopez+banco@correo.gob.es", "EMAIL"),
    ("llámame al +34 612 345 678", "PHONE"), ("al 0034 699123456", "PHONE"), ("móvil 612 34 56 78", "PHONE"),
    ("fijo 91 123 45 67", "PHONE"), ("o 612-345-678", "PHONE"), ("call (555) 123-4567", "PHONE"),
    ("call +1 555 123 4567", "PHONE"), ("ring 07700 900123", "PHONE"), ("ring +44 20 7946 0958", "PHONE"),
    ("dial +49 30 1234567", "PHONE"),
    ("card 4111 1111 1111 1111 please", "CARD"), ("tarjeta 5500-0000-0000-0004", "CARD"), ("amex 3782 822463 10005", "CARD"),
    ("IBAN ES91 2100 0418 4502 0005 1332 ok", "IBAN"), ("IBAN GB82WEST12345698765432", "IBAN"),
    ("DNI 12345678Z", "ID"), ("DNI 12.345.678-Z", "ID"), ("NIE X1234567L", "ID"), ("SSN 123-45-6789", "ID"),
    ("reset: https://portal.horizonte.es/reset?token=9fK2LmQ8zX", "URL"),
    ("track https://horizonte.es/pedido/8f3a9c2d7e1b4a6f9c2d", "URL"),
    ("I live at 221B Baker Street, London NW1 6XE", "ADDRESS"), ("vivo en la Calle Mayor 5, 3ºB", "ADDRESS"),
    ("envíalo a C/ Alcalá 23, 3ºB, 28014 Madrid", "ADDRESS"), ("en Avenida de la Constitución 12", "ADDRESS"),
])
def test_detectors_find_valid_values(text, typ):
    assert f"[{typ}]" in red(text), red(text)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 please",                 # Luhn fails
    "IBAN ES91 2100 0418 4502 0005 1333 ok",           # mod-97 fails
    "DNI 12345678A", "NIE X1234567A",                  # wrong check letter
    "SSN 666-12-3456", "SSN 912-34-5678", "SSN 000-12-3456",   # invalid areas
    "order 48213 on 12-03-2024 at 10:30 for 2,000 EUR", "pedido 712345678", "total 600.000.000 euros",
    "see https://www.horizonte.es/ayuda/tarifas", "I flew United and Delta with Horizonte.",
    "May I ask something? Will you call back? Rosa no, la azul.", "Thanks for calling, Perfecto, Vale.",
])
def test_decoys_and_invalid_checksums_are_kept(text):
    assert red(text) == text


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("ES9121000418450200051332") and not iban_ok("ES9121000418450200051333")
    assert dni_ok("12345678", "Z") and not dni_ok("12345678", "A")
    assert nie_ok("X", "1234567", "L") and not nie_ok("X", "1234567", "M")
    assert ssn_ok("123", "45", "6789") and not ssn_ok("666", "45", "6789")
    assert phone_ok("+34 612 345 678") and not phone_ok("512 345 678")


def test_names_en_es_and_brands():
    out = red("Hablé con la Sra. García y con Mr. Smith. My name is Xenia Rockwell. Le atiende Nahia, de Horizonte. "
              "Laura Sánchez Gómez me ayudó; United y Delta no.")
    assert "García" not in out and "Smith" not in out and "Xenia" not in out and "Nahia" not in out
    assert "Sánchez" not in out and "Horizonte" in out and "United" in out and "Delta" in out


def test_person_numbers_are_consistent_within_a_text():
    out = red("Ana García llamó. Luego Ana García volvió a llamar y García colgó. Pedro no.")
    assert out.count("[PERSON_1]") == 3 and "[PERSON_2]" in out


def test_offsets_hold_after_redaction_with_accents_emoji_crlf():
    l1, u1 = "Ana: ", "Hola 😀, soy Ana García, mi email es ana@x.es, ñandú"
    l2, u2 = "\r\nEntrevistador: ", "¿Y su teléfono, Sra. García? 🎉"
    l3, u3 = "\r\nAna: ", "612 345 678, ¡qué lío! Sí, García."
    text = l1 + u1 + l2 + u2 + l3 + u3
    cut = [len(l1), len(l1 + u1), len(l1 + u1 + l2), len(l1 + u1 + l2 + u2), len(l1 + u1 + l2 + u2 + l3), len(text)]
    src = Source("a.txt", "interview", text, [Turn("Ana", "participant", cut[0], cut[1]),
                                              Turn("Entrevistador", "interviewer", cut[2], cut[3]),
                                              Turn("Ana", "participant", cut[4], cut[5])])
    counts = Redactor(salt="x").redact_source(src)
    src.validate()
    assert [t.speaker for t in src.turns] == ["[PERSON_1]", "Entrevistador", "[PERSON_1]"]
    assert [src.text[t.start:t.end] for t in src.turns] == [
        "Hola 😀, soy [PERSON_1], mi email es [EMAIL], ñandú", "¿Y su teléfono, [PERSON_1]? 🎉",
        "[PHONE], ¡qué lío! Sí, [PERSON_1]."]
    assert counts["EMAIL"] == 1 and counts["PHONE"] == 1 and "García" not in src.text and "Ana" not in src.text


PLANTED = {
    "email": "ana.garcia@correo.es", "phone": "612 345 678", "phone_us": "(555) 123-4567", "card": "4111 1111 1111 1111",
    "iban": "ES91 2100 0418 4502 0005 1332", "dni": "12345678Z", "ssn": "123-45-6789",
    "url": "https://portal.horizonte.es/reset?token=9fK2LmQ8zXw", "address": "Calle Mayor 5",
    "speaker": "Ana", "surname": "García", "other": "Laura Sánchez", "interviewer": "Marta",
}
TRANSCRIPT = """Entrevista — notas
Marta: Hola Ana García, ¿me confirmas tu correo y teléfono?
Ana: Claro, ana.garcia@correo.es y el 612 345 678, o en EE. UU. el (555) 123-4567.
Marta: ¿Y la dirección?
Ana: Vivo en la Calle Mayor 5, 3ºB. La tarjeta es la 4111 1111 1111 1111 y el IBAN ES91 2100 0418 4502 0005 1332.
Marta: ¿Algo más, Ana?
Ana: Mi DNI es 12345678Z y el SSN de mi marido 123-45-6789. Me atendió Laura Sánchez en Horizonte y el enlace
https://portal.horizonte.es/reset?token=9fK2LmQ8zXw no funcionaba. Ángela, la otra agente, tampoco ayudó. 😀
"""


def _leaks(blob: bytes, values=PLANTED.values()) -> list[str]:
    return [v for v in values if v.encode("utf-8") in blob]


def test_leak_study_file_excerpts_and_report(tmp_path, cli):
    study = tmp_path / "study.db"
    src = write(tmp_path / "in" / "p1.txt", TRANSCRIPT)
    assert cli("init", study)[0] == 0
    code, out, err = cli("ingest", src, "--study", study, "--redact", "--interviewer", "Marta", "--no-progress")
    assert code == 0, err
    assert "Redacted:" in out and "PERSON" in out and "EMAIL" in out and not _leaks((out + err).encode())
    code, excerpts, _ = cli("excerpts", "--study", study, "--format", "jsonl")
    assert code == 0 and "[PERSON_" in excerpts and "[EMAIL]" in excerpts and not _leaks(excerpts.encode())
    code, sources, _ = cli("sources", "--study", study)
    assert "redacted" in sources and not _leaks(sources.encode())
    code, _, err = cli("code", "--study", study, "--embed", "off", "--emotion", "lexicon", "--no-progress")
    assert code == 0, err
    report = tmp_path / "report"
    code, _, err = cli("map", "--study", study, "--out", report)
    assert code == 0, err
    for f in report.rglob("*"):
        if f.is_file():
            assert not _leaks(f.read_bytes()), f
    # and the exports a researcher hands on: REFI-QDA (zipped XML and texts), workbook, CSV tables
    for fmt, out in (("qdpx", tmp_path / "s.qdpx"), ("xlsx", tmp_path / "s.xlsx"), ("csv", tmp_path / "tables"),
                     ("md", tmp_path / "codebook.md")):
        assert cli("export", "--study", study, "--format", fmt, "--out", out)[0] == 0
        for f in ([out] if out.is_file() else list(out.iterdir())):
            data = f.read_bytes()
            if zipfile.is_zipfile(f):
                with zipfile.ZipFile(f) as z:
                    data = b"".join(z.read(n) for n in z.namelist())
            assert not _leaks(data), f
    for f in tmp_path.glob("study.db*"):            # the database, and any WAL/SHM left
        assert not _leaks(f.read_bytes()), f
    with sqlite3.connect(study) as con:             # the text is there, redacted, and offsets hold
        for text, a, b in con.execute('SELECT s.text, e.start, e."end" FROM excerpts e JOIN sources s USING (source_id)'):
            assert text[a:b].strip()


def test_person_numbering_persists_across_ingests(tmp_path):
    study = tmp_path / "s.db"
    store = Store.create(study)
    one = write(tmp_path / "a.txt", "Interviewer: Hola Ana.\nAna: Hola, soy Ana García.\nInterviewer: ¿Y Pedro?\nAna: Pedro bien.\n")
    two = write(tmp_path / "b.txt", "Interviewer: Hola.\nCliente: Me llamo Pedro. Ana García es mi vecina, la Sra. García.\n")
    ingest_paths(store, [one], redact=True, progress=False)
    store.close()
    store = Store.open(study)
    ingest_paths(store, [two], progress=False)        # the study redacts: asked or not
    texts = dict(store.con.execute("SELECT name, text FROM sources").fetchall())
    info = store.info()
    summary = redaction_summary(store)
    store.close()
    a_ana = texts["a.txt"].split("soy ")[1].split(".")[0]
    assert a_ana.startswith("[PERSON_") and a_ana in texts["b.txt"]            # Ana García: the same number
    pedro_a = texts["a.txt"].split("¿Y ")[1].split("?")[0]
    assert pedro_a in texts["b.txt"].split("Me llamo ")[1]
    assert "Ana" not in info.get("redact.persons", "") and "García" not in str(info)
    assert {v["name"] for v in summary.values()} == {"a.txt", "b.txt"}


def test_redact_refused_on_a_study_with_clear_sources(tmp_path, cli):
    study = tmp_path / "s.db"
    cli("init", study)
    assert cli("ingest", write(tmp_path / "a.txt", "Interviewer: hola\nP1: adiós\n"), "--study", study, "--no-progress")[0] == 0
    code, out, err = cli("ingest", write(tmp_path / "b.txt", "Interviewer: hola\nP1: ana@x.es\n"), "--study", study,
                         "--redact", "--no-progress")
    assert code != 0 and "without --redact" in err and "workbench init" in err
    with Store.open(study) as store:
        assert store.counts()["sources"] == 1 and store.info().get("redact") is None


def test_bad_input_error_does_not_echo_pii(tmp_path, cli):
    study = tmp_path / "s.db"
    cli("init", study, "--redact")
    # a header-less CSV: its first row (PII) becomes the column names an error message lists
    bad = write(tmp_path / "calls.csv", "ana.garcia@correo.es,612 345 678,Laura Sánchez\nfoo,bar,baz\n")
    code, out, err = cli("ingest", bad, "--study", study, "--no-progress")
    assert code != 0 and "Cannot read" in err and "column" in err
    assert not _leaks((out + err).encode(), ["ana.garcia@correo.es", "612 345 678", "Laura Sánchez"])


def test_api_option_and_calllog_metadata(tmp_path):
    store = Store.create(tmp_path / "s.db")
    log = write(tmp_path / "log.csv", "conversation_id,speaker,role,text,customer_email\n"
                                      "c1,Laura,agent,Hola soy Laura,ana@x.es\nc1,Cliente,customer,Mi móvil 612345678,ana@x.es\n")
    res = ingest_paths(store, [log], options=ReadOptions(redact=True), progress=False)
    assert res.redacted and res.redactions
    blob = b"".join(str(r).encode() for r in store.con.execute("SELECT * FROM sources").fetchall())
    blob += b"".join(str(r).encode() for r in store.con.execute("SELECT * FROM turns").fetchall())
    store.close()
    assert b"ana@x.es" not in blob and b"612345678" not in blob and b"Laura" not in blob


def test_refusal_is_an_input_error(tmp_path):
    store = Store.create(tmp_path / "s.db")
    ingest_paths(store, [write(tmp_path / "a.txt", "Interviewer: hola\nP1: adiós\n")], progress=False)
    with pytest.raises(InputError):
        ingest_paths(store, [write(tmp_path / "b.txt", "Interviewer: hola\nP1: otra\n")], redact=True, progress=False)
    store.close()


def test_unknown_type_rejected():
    with pytest.raises(ValueError):
        Redactor(types=["EMAIL", "NOPE"])
