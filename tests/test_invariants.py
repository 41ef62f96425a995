"""Property tests: offsets are exact for any text — source.text[start:end] == excerpt text, always."""
from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.ingest import read_path
from workbench.decode import normalise
from workbench.nlp import Segmenter, SegmentSettings
from workbench.pipeline import ingest_paths, segment_source
from workbench.store import Store

# Text as people type it: letters (incl. accents), digits, punctuation, emoji, odd spaces.
ALPHABET = st.characters(
    codec="utf-8", categories=("L", "N", "P", "Zs", "So", "Sc", "Sm"),
    include_characters="\u0301\u00a0 .?!¿¡…—'\"", exclude_characters="\r\n\u2028\u2029\x85")
UTTERANCE = st.text(ALPHABET, min_size=1, max_size=200).filter(lambda s: s.strip())
LABELS = st.sampled_from(["Interviewer: ", "P1: ", "Entrevistador: ", "[00:01:02] Ana: ", "**Moderator:** ",
                          "Participante: ", "Tom (00:02:03): "])
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_source(source, excerpts):
    text = source.text
    spans = [(t.start, t.end) for t in source.turns]
    last = -1
    for e in excerpts:
        assert text[e.start:e.end] == e.text
        assert e.text and e.text == e.text.strip()
        t = source.turns[e.turn_index]
        assert t.start <= e.start < e.end <= t.end, "an excerpt crossed its turn"
        assert e.start >= last
        last = e.end
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


@FAST
@given(st.lists(st.tuples(LABELS, UTTERANCE, st.sampled_from(["\n", "\n\n", "\r\n", "\r\n\r\n"])), min_size=1, max_size=8))
def test_transcript_offsets_are_exact(turns):
    raw = "Title line\n\n" + "".join(label + utt + sep for label, utt, sep in turns)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.txt"
        p.write_bytes(raw.encode("utf-8"))
        [source] = read_path(p).sources
    assert source.text == normalise(raw)
    check_source(source, segment_source(source, Segmenter(SegmentSettings(pipeline="blank"))))


@FAST
@given(st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3"]), st.sampled_from(["agent", "customer"]),
                          st.text(ALPHABET | st.sampled_from(["\n", ",", '"']), min_size=1, max_size=120)
                          .filter(lambda s: s.strip())), min_size=1, max_size=12))
def test_call_log_offsets_are_exact_and_text_survives_csv(rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["conversation_id", "role", "text"])
    w.writerows(rows)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "calls.csv"
        p.write_text(buf.getvalue(), encoding="utf-8")
        sources = read_path(p).sources
    got = {(s.key, s.text[t.start:t.end]) for s in sources for t in s.turns}
    want = {(c, normalise(t)) for c, _, t in rows}
    assert got == want
    for s in sources:
        check_source(s, segment_source(s, Segmenter(SegmentSettings(pipeline="blank"))))


@FAST
@given(st.text(ALPHABET, min_size=1, max_size=300))
def test_fast_path_gives_what_spacy_gives(text):
    seg = Segmenter(SegmentSettings(pipeline="blank"))
    nlp = seg.pipeline("en")
    slow = seg._post(text, [(s.start_char, s.end_char) for s in nlp(text).sents])
    assert seg.spans(text, "en") == slow


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(UTTERANCE, min_size=1, max_size=6))
def test_store_quotes_are_views_of_source_text(tmp_path_factory, utterances):
    """SQLite's substr and Python slicing agree on every character (accents, emoji, astral planes)."""
    d = tmp_path_factory.mktemp("s")
    p = d / "p.txt"
    p.write_text("".join(f"P1: {u}\nInterviewer: ok?\n" for u in utterances), encoding="utf-8")
    store = Store.create(d / "s.db")
    try:
        ingest_paths(store, [p], progress=False)
        for sid in store.sources()["source_id"]:
            text = store.source_text(sid)
            for row in store.excerpts(sid).itertuples():
                assert text[row.start:row.end] == row.text
    finally:
        store.close()


@FAST
@given(st.lists(st.text(ALPHABET, max_size=12) | st.sampled_from(
    [".", "!", "?", "...", "Mr.", " e.g. ", "3.5", "\"", ")", "¿", "¡", "。", " ", "\n", "?!", "…"]), max_size=40).map("".join))
def test_sentencizer_rule_matches_spacy_sentencizer(text):
    """Our array-based reading of the sentencizer rule gives exactly spaCy's sentences."""
    from workbench.nlp import _punct_orths, sentencizer_spans

    for lang in ("en", "es"):
        seg = Segmenter(SegmentSettings(pipeline="blank"))
        nlp = seg.pipeline(lang)
        doc = nlp(text)
        assert sentencizer_spans(nlp.make_doc(text), _punct_orths(nlp)) == [(s.start_char, s.end_char) for s in doc.sents]


def test_worker_processes_give_the_same_study_as_one_process(tmp_path, monkeypatch):
    """Parallel preparation is an optimisation only: same rows, same ids, same order."""
    import workbench.pipeline as pipeline

    rows = "".join(f"C{i // 6},{'agent' if i % 2 else 'customer'},\"Línea {i}. Still waiting, day {i % 9}! OK.\"\n"
                   for i in range(3000))
    log = tmp_path / "calls.csv"
    log.write_text("conversation_id,role,text\n" + rows, encoding="utf-8")
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_TURNS", 100)
    monkeypatch.setattr(pipeline, "CHUNK_SOURCES", 37)
    dumps = []
    for workers in (1, 2):
        store = Store.create(tmp_path / f"w{workers}.db")
        ingest_paths(store, [log], progress=False, workers=workers)
        dumps.append({t: store.query(f"SELECT * FROM {t}").to_csv() for t in ("sources", "turns", "excerpts")})
        store.close()
    assert dumps[0] == dumps[1]
