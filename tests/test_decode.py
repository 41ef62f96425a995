"""Decoding: researchers' files arrive in every encoding; offsets refer to the normalised text."""
from __future__ import annotations

import pytest

from workbench.errors import InputError
from workbench.decode import decode

TEXT = "Entrevistador: ¿Qué tal? Participante: Fatal — esperé 40 minutos… “ni caso”, 12 €."


@pytest.mark.parametrize("encoding,prefix", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("utf-16-le", b""), ("cp1252", b""),
])
def test_encodings_are_detected(encoding, prefix):
    d = decode(prefix + TEXT.encode(encoding), "t.txt")
    assert d.text == TEXT


def test_latin1_accents_from_old_windows_files():
    assert decode("Señora Muñoz: así está bien".encode("latin-1"), "t.txt").text == "Señora Muñoz: así está bien"


def test_normalisation_nfc_and_line_endings():
    raw = "P1: Cafe\u0301\r\nbien\rok\r\n\r\n"
    assert decode(raw.encode(), "t.txt").text == "P1: Caf\u00e9\nbien\nok"


def test_explicit_encoding_wins():
    data = "Ω".encode("utf-8")
    assert decode(data, "t.txt", encoding="latin-1").text == "Î©"


def test_undecodable_bytes_get_offset_and_advice():
    data = b"P1: hello \x81\x8d\x8f\x90\x9d here"
    with pytest.raises(InputError) as e:
        decode(data, "t.txt")
    msg = str(e.value)
    assert "offset 10" in msg and "--encoding" in msg and "\n" not in msg


@pytest.mark.parametrize("data,word", [
    (b"%PDF-1.7\n%\xe2\xe3", "PDF"), (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"), (b"PK\x03\x04\x14\x00", "ZIP"),
    (b"\x00\x01\x02\x03binary\x00\x00\xff\xfe\x00garbage" * 20, "binary"),
])
def test_binary_files_are_refused(data, word):
    with pytest.raises(InputError, match=word):
        decode(data, "renamed.txt")


def test_unknown_encoding_name():
    with pytest.raises(InputError, match="Unknown encoding"):
        decode(b"hi", "t.txt", encoding="klingon")
