"""Fault and fuzz tests: damaged, hostile and huge files are imported exactly or refused in one line.

The cases and the checker live in tests/fuzzing.py (benchmarks/fuzz.py runs 10,000 of them);
here a seeded sample runs on every test run, plus the hostile files one by one.
"""
from __future__ import annotations

import random
import tracemalloc

import pytest

import fuzzing
from fuzzing import Case, Plan, bases, check_case
from workbench.errors import InputError
from workbench.ingest import read_path

SEED = 20261201


def _run(tmp_path, name: str, data: bytes) -> fuzzing.Outcome:
    return check_case(Case(Plan(0, 0, "explicit", name), name, data), tmp_path / "case")


def _read_peak(tmp_path, name: str, data: bytes) -> int:
    """Peak Python memory while the reader refuses ``data`` (the refusal itself is checked by the caller)."""
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(InputError):
            read_path(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _docx() -> bytes:
    return dict(bases())["p19_en_young_professional.docx"]


def test_a_seeded_sample_of_mutated_files_is_imported_exactly_or_refused_in_one_line():
    results = fuzzing.run_cases(SEED, range(200), workers=2)
    failures = [f"{o.outcome} {o.ref} {o.kind} {o.base}: {o.detail}" for o in results if o.failed]
    assert not failures, "rerun with `python benchmarks/fuzz.py --seed S --case N`:\n" + "\n".join(failures)
    table = fuzzing.summary(results)
    assert table["all"]["imported"] and table["all"]["refused"]  # the sample exercises both ways out
    assert set(table) - {"all"} == set(fuzzing.KINDS)


@pytest.mark.parametrize("variant", range(3))
def test_billion_laughs_docx_is_refused_before_any_entity_is_expanded(tmp_path, variant):
    rng = random.Random(variant)
    data = fuzzing.billion_laughs(rng, _docx())
    outcome = _run(tmp_path, "laughs.docx", data)
    assert outcome.outcome == "refused", outcome
    assert "DTD" in outcome.detail and "save it again" in outcome.detail
    assert _read_peak(tmp_path, "laughs2.docx", data) < 64 * 2**20  # the expanded text would be ~3 GB


@pytest.mark.parametrize("member", ["word/document.xml", "word/media/image1.png"])
def test_zip_bomb_docx_is_refused_without_unpacking_it(tmp_path, member):
    data = fuzzing.bomb_docx(_docx(), member)
    assert len(data) < 4 * 2**20  # ~1 MB on disk, 512 MB unpacked
    outcome = _run(tmp_path, "bomb.docx", data)
    assert outcome.outcome == "refused", outcome
    assert "zip bomb" in outcome.detail and "save it again" in outcome.detail
    assert _read_peak(tmp_path, "bomb2.docx", data) < 64 * 2**20


def test_docx_with_tens_of_thousands_of_parts_is_refused(tmp_path):
    data = fuzzing._rezip(_docx(), {}, ((f"word/media/m{i}.bin", b"") for i in range(20_000)))
    outcome = _run(tmp_path, "parts.docx", data)
    assert outcome.outcome == "refused" and "parts (a Word document has a few dozen)" in outcome.detail, outcome


def test_docx_with_a_small_well_packed_media_part_still_imports(tmp_path):
    data = fuzzing._rezip(_docx(), {}, [("word/media/blank.bin", b"\x00" * 2_000_000)])
    assert _run(tmp_path, "media.docx", data).outcome == "imported"


def test_a_50_mb_single_line_transcript_is_imported_exactly(tmp_path):
    line = b"the card took twelve days and the app was fine though "
    data = b"Interviewer: How was it?\nP1: " + line * (fuzzing.BIG_LINE // len(line))
    outcome = _run(tmp_path, "long.txt", data)
    assert outcome.outcome == "imported", outcome  # invariant checked on every stored excerpt


@pytest.mark.parametrize("closed", [False, True])
def test_jsonl_nested_100000_levels_deep_is_imported_exactly_or_refused_in_one_line(tmp_path, closed):
    nested = "[" * 100_000 + ("]" * 100_000 if closed else "")
    data = ('{"conversation_id": "C1", "role": "customer", "text": "My card never came."}\n' + nested + "\n").encode()
    outcome = _run(tmp_path, "calls.jsonl", data)
    assert outcome.outcome in ("imported", "refused"), outcome


def test_text_nested_100000_levels_deep_is_imported_exactly(tmp_path):
    data = ("Interviewer: How was it?\nP1: " + "(" * 100_000 + " and then it worked.\n").encode()
    assert _run(tmp_path, "nested.txt", data).outcome == "imported"
