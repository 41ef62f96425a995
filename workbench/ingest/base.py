"""The reader registry and what every reader shares.

A reader is one module with one registered function::

    @register("vtt", version=1, extensions=(".vtt",), kind="interview")
    def read_vtt(data: bytes, path: Path, options: ReadOptions) -> list[Source]: ...

so a new format is one file in ``workbench/ingest/`` plus an import in ``__init__``. The
versioned name (``"vtt@1"``) is stored on every source it produced.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..decode import decode
from ..errors import InputError
from ..language import SWITCH, SWITCH_PRIOR, UNDETERMINED, WHOLE_TEXT_CHARS, detect, summarise
from ..model import Source, Turn


@dataclass
class CallLogColumns:
    """Which columns of a call log hold what. ``None`` means: guess from common names."""

    conversation: str | None = None
    speaker: str | None = None
    role: str | None = None
    text: str | None = None
    timestamp: str | None = None


@dataclass
class ReadOptions:
    """Everything a reader may need besides the bytes; all optional."""

    encoding: str | None = None
    max_file_mb: float | None = None
    interviewers: set[str] = field(default_factory=set)
    columns: CallLogColumns = field(default_factory=CallLogColumns)
    layout: str = "auto"  # call logs: "utterance" (one row per utterance), "call" (one row per call) or auto
    delimiter: str | None = None
    redact: bool = False  # replace PII by placeholders before anything is stored (see workbench.redact)


ReadFn = Callable[[bytes, Path, ReadOptions], list[Source]]


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    version: int
    extensions: tuple[str, ...]
    kind: str
    fn: ReadFn
    binary: bool = False
    sniff: Callable[[str], bool] | None = None  # prefers this reader for a matching text

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"


READERS: dict[str, ReaderSpec] = {}


def register(
    name: str,
    *,
    version: int,
    extensions: tuple[str, ...],
    kind: str,
    binary: bool = False,
    sniff: Callable[[str], bool] | None = None,
) -> Callable[[ReadFn], ReadFn]:
    def deco(fn: ReadFn) -> ReadFn:
        if name in READERS:
            raise ValueError(f"Reader {name!r} is registered twice.")
        READERS[name] = ReaderSpec(name, version, extensions, kind, fn, binary, sniff)
        return fn

    return deco


def reader_for(path: Path, kind: str | None, text_head: str | None) -> ReaderSpec:
    """Pick the reader: the one named by ``kind``, else by extension (and content sniffing)."""
    if kind:
        spec = READERS.get(kind)
        if spec is None:
            raise InputError(f"Unknown --kind {kind!r}; choose one of: {', '.join(sorted(READERS))}.")
        return spec
    ext = path.suffix.lower()
    matches = [s for s in READERS.values() if ext in s.extensions]
    if not matches:
        known = ", ".join(sorted({e for s in READERS.values() for e in s.extensions}))
        raise InputError(
            f"Cannot read {path}: no reader for {ext or 'files without an extension'}. "
            f"Known extensions: {known}; or pass --kind ({', '.join(sorted(READERS))})."
        )
    if text_head is not None:
        for s in matches:
            if s.sniff and s.sniff(text_head):
                return s
    plain = [s for s in matches if s.sniff is None]
    return (plain or matches)[0]


def decode_text(data: bytes, path: Path, options: ReadOptions) -> str:
    return decode(data, path, options.encoding).text


def drop_empty_turns(source: Source) -> Source:
    """Remove turns with no text; a source left with none cannot be imported."""
    source.turns = [t for t in source.turns if source.text[t.start:t.end].strip()]
    if not source.turns:
        raise InputError(
            f"Cannot read {source.name}: found no speaker turns or text in it. "
            "Check the speaker labels (e.g. 'Interviewer:', 'P1:') or pass the right --kind."
        )
    source.validate()
    return source


def finish(source: Source) -> Source:
    """Detect language per turn and per source.

    A turn keeps its own language only when it is detected with confidence (:data:`CONFIDENT`);
    "OK", "Thanks" or "Vale" alone say little ("ok" scores Afrikaans first), so such a turn takes the
    source's language. The source's language is that of its confidently detected turns (by
    characters; a second language with 10 % of them makes it mixed), else that of its whole text."""
    found: list[str] = []
    dets = []
    for t in source.turns:
        d = detect(source.text[t.start:t.end])
        dets.append(d)
        found.append(d.confident())
    sizes = [t.end - t.start for t in source.turns]
    lang = summarise(list(zip(found, sizes)))[0]
    if lang != UNDETERMINED:
        # a close neighbour of the source's language ("Pilar al habla" scores Aragonese first in a Spanish
        # call) is the source's language unless it is detected with near certainty or the source's
        # language is no candidate at all; a real switch ("Bueno, la verificación…" in English) is kept
        found = [f if f in (UNDETERMINED, lang) or d.confidence >= SWITCH or d.scores.get(lang, 0.0) < SWITCH_PRIOR
                 else lang for f, d in zip(found, dets)]
    lang, shares, mixed = summarise(list(zip(found, sizes)))
    if lang == UNDETERMINED:
        whole = detect(" ".join(source.text[t.start:t.end] for t in source.turns)[:WHOLE_TEXT_CHARS])
        if whole.language != UNDETERMINED:
            lang, shares = whole.language, {whole.language: 1.0}
    source.language, source.languages, source.mixed_language = lang, shares, mixed
    for t, found_lang in zip(source.turns, found):
        t.language = found_lang if found_lang != UNDETERMINED else lang
    return source


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class TextBuilder:
    """Builds a source text from pieces while recording spans, so offsets are exact by construction."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._len = 0

    def add(self, piece: str) -> tuple[int, int]:
        start = self._len
        self._parts.append(piece)
        self._len += len(piece)
        return start, self._len

    def text(self) -> str:
        return "".join(self._parts)


def rendered_turn(builder: TextBuilder, speaker: str, role: str, utterance: str, **kw: Any) -> Turn:
    """Append ``"Speaker: utterance\\n"`` to ``builder`` and return the turn spanning the utterance."""
    start = builder.add(f"{speaker}: ")[1]
    end = builder.add(f"{utterance}\n")[1] - 1
    return Turn(speaker=speaker, role=role, start=start, end=end, **kw)
