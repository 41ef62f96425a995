"""Fault and fuzz cases for the readers: mutated copies of the bundled corpora, and a checker.

A case is fully determined by ``(seed, case_id)``: :func:`plan` picks the mutation kind and the
base file cheaply, :func:`build` makes the bytes. :func:`check_case` ingests one case into a
fresh study that already holds one good import and classifies what happened:

* ``imported`` — stored, and every stored turn and excerpt is an exact view of its source text;
* ``refused`` — :class:`~workbench.errors.InputError` with a one-line message, study unchanged;
* failures: ``traceback`` (any other exception), ``multiline-error``, ``changed-on-error``,
  ``invariant-broken``, ``hang`` (over the time limit) and ``crash`` (the worker process died).

:func:`run_cases` runs cases in worker processes so that a hang or a crash is detected and
reported instead of stopping the run. Used by ``tests/test_fuzz.py`` and ``benchmarks/fuzz.py``.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import tempfile
import time
import traceback
import zipfile
import zlib
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"

GOOD = "Interviewer: How was it?\n\nP1: The card took twelve days. The app was fine though.\n"
FAILURES = ("traceback", "multiline-error", "changed-on-error", "invariant-broken", "hang", "crash")
OUTCOMES = ("imported", "refused") + FAILURES

TIME_LIMIT = 20.0          # seconds per case, plus TIME_PER_MB for each MB of input (big inputs take linear time)
TIME_PER_MB = 2.0
MEMORY_LIMIT = 8 << 30     # address space of a worker: a memory bomb becomes a MemoryError, not a dead machine
BIG_LINE = 50 * 1024 * 1024
BOMB_SIZE = 512 * 1024 * 1024


# ---------------------------------------------------------------- base files
def _read(rel: str) -> bytes:
    return (CORPORA / rel).read_bytes()


def _call_rows(n: int = 40) -> list[dict[str, str]]:
    with open(CORPORA / "call_logs" / "horizonte_contact_centre_feb_mar.csv", newline="", encoding="utf-8") as f:
        return [row for _, row in zip(range(n), csv.DictReader(f))]


def _table(rows: list[dict[str, str]], delimiter: str) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


_LINE = re.compile(r"^\[(\d\d:\d\d:\d\d)\] ([^:]+): (.+)$")


def _cues(rel: str) -> list[tuple[str, str, str]]:
    """(start, speaker, text) of the ``[hh:mm:ss] Name: text`` lines of a bundled transcript."""
    text = _read(rel).decode("utf-8")
    return [m.groups() for m in map(_LINE.match, text.splitlines()) if m]  # type: ignore[misc]


def _subtitles(cues: list[tuple[str, str, str]], fmt: str) -> bytes:
    sep = "." if fmt == "vtt" else ","
    out = ["WEBVTT", ""] if fmt == "vtt" else []
    for i, (ts, speaker, text) in enumerate(cues, 1):
        h, m, s = map(int, ts.split(":"))
        end = h * 3600 + m * 60 + s + 3
        t1 = f"{ts}{sep}000 --> {end // 3600:02d}:{end % 3600 // 60:02d}:{end % 60:02d}{sep}500"
        body = f"<v {speaker}>{text}</v>" if fmt == "vtt" else f"{speaker}: {text}"
        out += [str(i), t1, body, ""]
    return "\n".join(out).encode("utf-8")


@functools.lru_cache(maxsize=1)
def bases() -> tuple[tuple[str, bytes], ...]:
    """(file name, bytes) of every base file: the bundled corpora plus synthesised formats."""
    files = [(p.name, p.read_bytes()) for p in sorted((CORPORA / "interviews").iterdir())]
    files += [(p.name, p.read_bytes()) for p in sorted((CORPORA / "usability").iterdir())]
    rows = _call_rows()
    files += [
        ("calls.csv", _table(rows, ",")),  # the bundled log's first rows: small cases, same columns
        ("calls.tsv", _table(rows, "\t")),
        ("calls.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")),
        ("p17_synth.vtt", _subtitles(_cues("interviews/p17_en_small_business.txt"), "vtt")),
        ("p17_synth.srt", _subtitles(_cues("interviews/p17_en_small_business.txt"), "srt")),
    ]
    return tuple(files)


def _is_docx(name: str) -> bool:
    return name.endswith(".docx")


# ---------------------------------------------------------------- mutations
def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(1, len(data))]


def byteflip(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        b[rng.randrange(len(b))] ^= rng.randrange(1, 256)
    return bytes(b)


def nul(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 2, 8, 200))):
        i = rng.randrange(len(b) + 1)
        if rng.random() < 0.5 and i < len(b):
            b[i] = 0
        else:
            b[i:i] = b"\x00" * rng.choice((1, 1, 2, 3))
    return bytes(b)


def bom_middle(rng: random.Random, data: bytes) -> bytes:
    bom = rng.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"))
    i = rng.randrange(1, len(data))
    if rng.random() < 0.5:  # at a line start, where a reader might look for a label or a header
        j = data.find(b"\n", i)
        i = j + 1 if j >= 0 else i
    return data[:i] + bom + data[i:]


def _text_of(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def mixed_encoding(rng: random.Random, data: bytes) -> bytes:
    """The text re-encoded in two parts with different encodings, as a bad merge of exports does."""
    text = _text_of(data)
    i = rng.randrange(1, max(2, len(text)))
    first, second = rng.sample(["utf-8", "cp1252", "latin-1", "utf-16-le", "utf-16-be", "utf-16", "utf-8-sig"], 2)
    return text[:i].encode(first, errors="replace") + text[i:].encode(second, errors="replace")


def long_line(rng: random.Random, data: bytes, size: int | None = None) -> bytes:
    """One very long line inserted at a line boundary (50 MB now and then, else 20–400 KB)."""
    size = size or (BIG_LINE if rng.random() < 0.005 else rng.randrange(20_000, 400_000))
    text = _text_of(data)
    choice = rng.randrange(4)
    if choice == 0:  # the file's own text as one line
        unit = text.replace("\n", " ") + " "
    elif choice == 1:  # words without sentence ends
        unit = re.sub(r"[.!?…;]", "", text.replace("\n", " ")) + " "
    elif choice == 2:  # one character repeated: no spaces at all
        unit = rng.choice("xñ.,<[*")
    else:  # a label-like prefix that regexes might try many ways
        unit = rng.choice(["P1: ", "[00:00:01] ", "**", "<v ", "-->", "\"", "Ana (00:01:02): "])
    unit_b = unit.encode("utf-8")
    line = (unit_b * (size // len(unit_b) + 1))[:size]
    line = line.decode("utf-8", errors="ignore").encode("utf-8")
    lines = data.split(b"\n")
    k = rng.randrange(len(lines) + 1)
    prefix = rng.choice([b"", b"P1: ", b"Interviewer: "])
    return b"\n".join(lines[:k] + [prefix + line] + lines[k:])


def deep_nesting(rng: random.Random, data: bytes, depth: int | None = None) -> bytes:
    """A line nested ``depth`` levels deep (JSON arrays/objects, or brackets and tags in text)."""
    depth = depth or rng.choice((100, 1_000, 10_000, 100_000))
    forms = [
        "[" * depth,
        "[" * depth + "]" * depth,
        '{"text": ' * depth + '"hi"' + "}" * depth,
        '{"conversation_id": "C9", "role": "customer", "text": ' + "[" * depth + "]" * depth + "}",
        '{"conversation_id": "C9", "role": "customer", "text": "x", "meta": ' + '{"a": ' * depth + "1" + "}" * depth + "}",
        "(" * depth,
        "<b>" * depth + "hi" + "</b>" * depth,
        "<v " * depth,
    ]
    line = rng.choice(forms).encode("utf-8")
    lines = data.split(b"\n")
    k = rng.randrange(len(lines) + 1)
    return b"\n".join(lines[:k] + [line] + lines[k:])


TEXT_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "truncate": truncate, "byteflip": byteflip, "nul": nul, "bom-middle": bom_middle,
    "mixed-encoding": mixed_encoding,
}


def _rezip(data: bytes, replace: dict[str, bytes], extra: Iterable[tuple[str, bytes]] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, body in extra:
            dst.writestr(name, body)
    return out.getvalue()


def docx_xml(rng: random.Random, data: bytes) -> bytes:
    """A text mutation applied to one XML part inside the .docx, which is then zipped properly."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.endswith((".xml", ".rels"))]
        name = "word/document.xml" if rng.random() < 0.6 else rng.choice(names)
        part = z.read(name)
    kind = rng.choice(sorted(TEXT_MUTATIONS) + ["long-line", "deep-nesting"])
    if kind == "long-line":
        mutated = part.replace(b"</w:t>", long_line(rng, b"", rng.randrange(100_000, 1_000_000)) + b"</w:t>", 1)
    elif kind == "deep-nesting":
        depth = rng.choice((100, 1_000, 10_000))
        mutated = part.replace(b"<w:body>", b"<w:body>" + b"<w:p>" * depth + b"</w:p>" * depth, 1)
    else:
        mutated = TEXT_MUTATIONS[kind](rng, part)
    return _rezip(data, {name: mutated})


LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Interviewer: &lol9;</w:t></w:r></w:p>
<w:p><w:r><w:t>P1: &lol9;</w:t></w:r></w:p>
</w:body></w:document>"""
XXE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Interviewer: &xxe;</w:t></w:r></w:p></w:body></w:document>"""


def billion_laughs(rng: random.Random, data: bytes) -> bytes:
    """An entity-expansion (or external-entity) DTD in document.xml or another XML part."""
    body = rng.choice((LAUGHS, LAUGHS, XXE))
    if rng.random() < 0.2:
        body = body.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.endswith(".xml")]
    name = "word/document.xml" if rng.random() < 0.7 else rng.choice(names)
    if name != "word/document.xml":  # the DTD goes in front of that part's own root element
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            part = z.read(name)
        root = part.find(b"<", part.find(b"?>") + 2 if part.startswith(b"<?xml") else 0)
        dtd = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        body = part[:root] + dtd + part[root:]
    return _rezip(data, {name: body})


@functools.lru_cache(maxsize=2)
def _deflated_spaces(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` spaces and its CRC-32 (made once per process: ~1 MB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b" " * (1 << 20)
    parts, crc = [], 0
    for _ in range(size // len(chunk)):
        parts.append(c.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(c.flush())
    return b"".join(parts), crc


def bomb_docx(base: bytes, name: str, size: int = BOMB_SIZE) -> bytes:
    """``base`` with member ``name`` replaced by (or added as) ``size`` bytes of spaces, deflated."""
    stream, crc = _deflated_spaces(size)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info.filename))
        # Write the member by hand so the huge payload is never in memory uncompressed.
        zi = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.CRC, zi.compress_size, zi.file_size = crc, len(stream), size
        zi.header_offset = out.tell()
        out.write(zi.FileHeader(zip64=size > zipfile.ZIP64_LIMIT))
        out.write(stream)
        dst.start_dir = out.tell()
        dst.filelist.append(zi)
        dst.NameToInfo[name] = zi
    return out.getvalue()


def zip_bomb(rng: random.Random, data: bytes) -> bytes:
    form = rng.randrange(4)
    if form == 0:
        return bomb_docx(data, "word/document.xml")
    if form == 1:
        return bomb_docx(data, rng.choice(["word/media/image1.png", "customXml/item1.xml", "word/styles.xml"]))
    if form == 2:  # very many members
        return _rezip(data, {}, ((f"word/media/m{i}.bin", b"") for i in range(rng.choice((20_000, 70_000)))))
    # a member much larger than it is compressed, but below any size limit: must still import
    return _rezip(data, {}, [("word/media/blank.bin", b"\x00" * rng.randrange(1_000, 2_000_000))])


KINDS: dict[str, float] = {  # mutation kind → weight
    "truncate": 14, "byteflip": 14, "nul": 12, "bom-middle": 12, "mixed-encoding": 14,
    "long-line": 6, "deep-nesting": 8, "docx-xml": 10, "billion-laughs": 5, "zip-bomb": 5,
}
DOCX_ONLY = {"docx-xml", "billion-laughs", "zip-bomb"}


@dataclass(frozen=True)
class Plan:
    seed: int
    case_id: int
    kind: str
    base: str

    @property
    def ref(self) -> str:
        return f"seed={self.seed} case={self.case_id}"


@dataclass(frozen=True)
class Case:
    plan: Plan
    name: str
    data: bytes


def _rng(seed: int, case_id: int) -> random.Random:
    return random.Random(f"{seed}:{case_id}")


def _draw(rng: random.Random, seed: int, case_id: int) -> Plan:
    kinds = list(KINDS)
    kind = rng.choices(kinds, weights=[KINDS[k] for k in kinds])[0]
    names = [n for n, _ in bases()]
    pool = [n for n in names if _is_docx(n)] if kind in DOCX_ONLY else names
    return Plan(seed, case_id, kind, rng.choice(pool))


def plan(seed: int, case_id: int) -> Plan:
    """The mutation kind and base file of a case, without building it."""
    return _draw(_rng(seed, case_id), seed, case_id)


def build(p: Plan) -> Case:
    rng = _rng(p.seed, p.case_id)
    _draw(rng, p.seed, p.case_id)  # the same draws plan() made, so the rest follows from the seed
    data = dict(bases())[p.base]
    fn = {**TEXT_MUTATIONS, "long-line": long_line, "deep-nesting": deep_nesting, "docx-xml": docx_xml,
          "billion-laughs": billion_laughs, "zip-bomb": zip_bomb}[p.kind]
    data = fn(rng, data)
    name = p.base
    if rng.random() < 0.05:  # now and then the wrong extension for the content
        name = Path(p.base).stem + rng.choice([".txt", ".md", ".vtt", ".srt", ".csv", ".tsv", ".jsonl", ".docx"])
    return Case(p, name, data)


def make_case(seed: int, case_id: int) -> Case:
    return build(plan(seed, case_id))


# ---------------------------------------------------------------- checking one case
@dataclass(frozen=True)
class Outcome:
    ref: str
    kind: str
    base: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome in FAILURES


def dump(store) -> dict[str, list[tuple]]:
    """The study's logical content: every row of every table, sorted."""
    tables = [r[0] for r in store.con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: sorted(store.con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def invariant_problems(store) -> list[str]:
    """What breaks the verbatim invariant in the study (empty list when nothing does)."""
    problems = []
    texts = dict(store.con.execute("SELECT source_id, text FROM sources"))
    turns: dict[tuple[str, int], tuple[int, int]] = {}
    last: dict[str, int] = {}

    # the quotes as every reader of the study gets them
    turn_quotes = {(s, t): q for s, t, q in store.turns()[["source_id", "turn_index", "text"]].itertuples(index=False)}
    quotes = dict(store.excerpts()[["excerpt_id", "text"]].itertuples(index=False))

    for sid, ti, start, end in store.con.execute(
            'SELECT source_id, turn_index, start, "end" FROM turns ORDER BY source_id, turn_index').fetchall():
        text = texts[sid]
        if not (0 <= start <= end <= len(text)) or not text[start:end].strip() or text[start:end] != turn_quotes.get((sid, ti)):
            problems.append(f"turn {sid}/{ti} [{start}, {end}) is not a non-empty view of its source text")
        if start < last.get(sid, 0):
            problems.append(f"turn {sid}/{ti} overlaps the turn before it")
        last[sid] = end
        turns[sid, ti] = (start, end)
    rows = store.con.execute('SELECT excerpt_id, source_id, turn_index, start, "end" FROM excerpts ORDER BY excerpt_id').fetchall()
    by_source: dict[str, list[tuple]] = {}
    for row in rows:
        by_source.setdefault(row[1], []).append(row)
    for sid, ex in by_source.items():
        text = texts.get(sid)
        for eid, _, ti, start, end in ex:
            span = turns.get((sid, ti))
            piece = text[start:end] if text is not None else ""
            if text is None or span is None:
                problems.append(f"excerpt {eid} belongs to no stored turn")
            elif not (0 <= start < end <= len(text)) or piece != piece.strip():
                problems.append(f"excerpt {eid} [{start}, {end}) is not a stripped, non-empty view of its source text")
            elif not (span[0] <= start and end <= span[1]):
                problems.append(f"excerpt {eid} [{start}, {end}) crosses its turn [{span[0]}, {span[1]})")
            elif quotes.get(eid) != piece:
                problems.append(f"excerpt {eid}: the stored quote differs from source.text[{start}:{end}]")
    return problems


def check_case(case: Case, workdir: Path) -> Outcome:
    """Ingest ``case`` into a fresh study holding one good import and classify the outcome."""
    from workbench.errors import InputError
    from workbench.nlp import SegmentSettings
    from workbench.pipeline import ingest_paths
    from workbench.store import Store

    p = case.plan
    t0 = time.perf_counter()

    def out(outcome: str, detail: str = "") -> Outcome:
        return Outcome(p.ref, p.kind, p.base, outcome, detail, round(time.perf_counter() - t0, 3))

    workdir.mkdir(parents=True, exist_ok=True)
    good = workdir / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    (workdir / "in").mkdir(exist_ok=True)
    path = workdir / "in" / case.name
    path.write_bytes(case.data)
    segment = SegmentSettings(pipeline="blank")  # segmentation is not under test; blank is fast and always there
    store = Store.create(workdir / "study.db")
    try:
        ingest_paths(store, [good], segment=segment, progress=False, workers=1)
        before = dump(store)
        try:
            ingest_paths(store, [path], segment=segment, progress=False, workers=1)
        except InputError as e:
            message = str(e)
            if "\n" in message or "\r" in message:
                return out("multiline-error", message.splitlines()[0] if message.strip() else repr(message))
            if dump(store) != before:
                return out("changed-on-error", message)
            return out("refused", message)
        except BaseException as e:  # noqa: BLE001 - classifying every other exception is the point
            if isinstance(e, KeyboardInterrupt):
                raise
            frame = traceback.extract_tb(e.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            return out("traceback", f"{type(e).__name__} at {where}: {str(e).splitlines()[0] if str(e) else ''}"[:300])
        after = dump(store)
        lost = [t for t in before if not set(before[t]) <= set(after[t])]
        problems = invariant_problems(store)
        if lost:
            problems.insert(0, f"rows of the earlier import changed in {', '.join(lost)}")
        if problems:
            return out("invariant-broken", f"{problems[0]} ({len(problems)} problem(s))")
        return out("imported")
    finally:
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)


def time_limit(p: Plan) -> float:
    big = p.kind == "long-line" or p.kind == "zip-bomb"
    return TIME_LIMIT + (TIME_PER_MB * BIG_LINE / 2**20 if big else 0.0)


# ---------------------------------------------------------------- running many cases
RECYCLE_AFTER = 400  # cases per worker process: the shared spaCy vocab grows with every fuzzed string


def share_pipelines() -> None:
    """Load each spaCy pipeline once per process instead of once per ingest.

    Segmentation is not under test here and ``spacy.blank`` takes ~80 ms, most of a small case.
    """
    from workbench.nlp import Segmenter

    original = Segmenter._load
    cache: dict[tuple[str, str], tuple] = {}

    def load(self, lang):
        key = (self.settings.pipeline, lang)
        if key not in cache:
            cache[key] = original(self, lang)
        return cache[key]

    Segmenter._load = load


def _worker(conn, tmp: str) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on every platform
        pass
    share_pipelines()
    n = 0
    while True:
        job = conn.recv()
        if job is None:
            return
        seed, case_id = job
        n += 1
        try:
            outcome = check_case(make_case(seed, case_id), Path(tmp) / f"w{os.getpid()}-c{n}")
        except BaseException as e:  # noqa: BLE001 - a failing generator or checker must not stop the run
            outcome = Outcome(f"seed={seed} case={case_id}", plan(seed, case_id).kind, "", "traceback",
                              f"checker: {type(e).__name__}: {e}"[:300])
        conn.send(outcome)


def run_cases(seed: int, case_ids: Iterable[int], workers: int = 2,
              on_result: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run cases in ``workers`` processes; a case over its time limit is killed and is a ``hang``."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    todo = list(case_ids)[::-1]
    results: list[Outcome] = []
    # in memory when possible: every case creates and commits a study, and fsync would dominate
    shm = Path("/dev/shm")
    tmp = tempfile.mkdtemp(prefix="workbench-fuzz-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)
    slots: list[dict] = []

    def start() -> dict:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, tmp), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "job": None, "deadline": 0.0, "done": 0}

    def feed(slot: dict) -> None:
        if todo and slot["done"] >= RECYCLE_AFTER:
            slot["conn"].send(None)
            slot["proc"].join(10)
            slot.update(start())
        if todo:
            case_id = todo.pop()
            slot["job"] = plan(seed, case_id)
            slot["deadline"] = time.monotonic() + time_limit(slot["job"])
            slot["conn"].send((seed, case_id))
        else:
            slot["job"] = None

    def record(o: Outcome) -> None:
        results.append(o)
        if on_result:
            on_result(o)

    try:
        for _ in range(max(1, workers)):
            slots.append(start())
            feed(slots[-1])
        while any(s["job"] for s in slots):
            busy = [s for s in slots if s["job"]]
            timeout = max(0.0, min(s["deadline"] for s in busy) - time.monotonic())
            ready = wait([s["conn"] for s in busy], timeout=timeout)
            for s in busy:
                job: Plan = s["job"]
                if s["conn"] in ready:
                    s["done"] += 1
                    try:
                        record(s["conn"].recv())
                    except (EOFError, OSError):
                        s["proc"].join(5)
                        record(Outcome(job.ref, job.kind, job.base, "crash",
                                       f"the worker died (exit code {s['proc'].exitcode})"))
                        s.update(start())
                    feed(s)
                elif time.monotonic() >= s["deadline"]:
                    s["proc"].kill()
                    s["proc"].join(5)
                    record(Outcome(job.ref, job.kind, job.base, "hang",
                                   f"still running after {time_limit(job):g} s"))
                    s.update(start())
                    feed(s)
    finally:
        for s in slots:
            try:
                s["conn"].send(None)
            except (OSError, BrokenPipeError):
                pass
        for s in slots:
            s["proc"].join(5)
            if s["proc"].is_alive():
                s["proc"].kill()
                s["proc"].join()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def summary(results: list[Outcome]) -> dict[str, dict[str, int]]:
    """Outcome counts per mutation kind, plus ``"all"``."""
    table: dict[str, dict[str, int]] = {}
    for o in results:
        for key in (o.kind, "all"):
            row = table.setdefault(key, {k: 0 for k in OUTCOMES})
            row[o.outcome] += 1
    return table


if __name__ == "__main__":  # pragma: no cover - a quick manual check: python tests/fuzzing.py SEED CASE
    import sys

    c = make_case(int(sys.argv[1]), int(sys.argv[2]))
    print(c.plan, c.name, len(c.data), check_case(c, Path(tempfile.mkdtemp()) / "x"))
    os._exit(0)
