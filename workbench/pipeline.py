"""Headless verbs that the CLI, notebooks and workers share: read → segment → store.

    >>> reports = ingest_paths(store, [Path("corpora/interviews")], metadata=Metadata.load(meta))  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pandas as pd

from .errors import InputError
from .ingest import Metadata, ReadOptions, ReadResult, discover, read_path
from .ingest.base import finish
from .ingest.metadata import apply as apply_meta
from .language import UNDETERMINED, detect, detector_id
from .model import Excerpt, Source
from .nlp import Segmenter, SegmentSettings
from .store import ImportReport, Rows, Store, rows_for

if TYPE_CHECKING:
    from .redact import Redactor


def segment_spans(sources: list[Source], segmenter: Segmenter) -> list[list[tuple[int, int, int, str]]]:
    """``(turn_index, start, end, language)`` of every excerpt of every source, in order.

    Turns of all sources are batched per language through one spaCy call, which is what makes
    large call logs fast; the result is the same as segmenting one source at a time.
    """
    by_lang: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for si, source in enumerate(sources):
        for ti, t in enumerate(source.turns):
            lang = t.language if t.language != UNDETERMINED else source.language
            by_lang[lang if lang != UNDETERMINED else "xx"].append((si, ti))
    per_turn: list[list[list[tuple[int, int]]]] = [[[] for _ in s.turns] for s in sources]
    for lang, keys in by_lang.items():
        texts = [sources[si].text[sources[si].turns[ti].start:sources[si].turns[ti].end] for si, ti in keys]
        for (si, ti), sp in zip(keys, segmenter.spans_many(texts, lang)):
            per_turn[si][ti] = sp
    out: list[list[tuple[int, int, int, str]]] = []
    for source, turns_spans in zip(sources, per_turn):
        rows = []
        for ti, (turn, spans) in enumerate(zip(source.turns, turns_spans)):
            base, lang = turn.start, turn.language
            for s, e in spans:
                if source.mixed_language:  # code-switching: each excerpt gets its own language
                    rows.append((ti, base + s, base + e, detect(source.text[base + s:base + e]).confident(lang)))
                else:
                    rows.append((ti, base + s, base + e, lang))
        out.append(rows)
    return out


def segment_sources(sources: list[Source], segmenter: Segmenter) -> list[list[Excerpt]]:
    """Excerpts of every source (ids are assigned by the store); see :func:`segment_spans`."""
    return [[Excerpt("", "", ti, a, b, source.text[a:b], lang) for ti, a, b, lang in rows]
            for source, rows in zip(sources, segment_spans(sources, segmenter))]


def segment_source(source: Source, segmenter: Segmenter) -> list[Excerpt]:
    """Excerpts of one source; see :func:`segment_sources`."""
    return segment_sources([source], segmenter)[0]


@dataclass
class IngestResult:
    reports: list[ImportReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # files set aside or used as metadata, and why
    redacted: bool = False                            # the study redacts PII (workbench.redact)
    redactions: list[tuple[str, Counter]] = field(default_factory=list)   # (file name, counts by type) imported

    @property
    def ok(self) -> bool:
        return not self.errors


def read_all(paths: list[Path], kind: str | None, options: ReadOptions, metadata: Metadata | None,
             flags: dict[str, Any], skip_bad: bool = False, analyse: bool = True
             ) -> tuple[list[ReadResult], list[str], list[str]]:
    """Read and validate every file before anything is written (so one bad file changes nothing).

    Returns the files read, the errors of files skipped (``skip_bad``) and notes on files set aside.
    """
    found = discover(paths, metadata)
    if found.sidecars:
        sidecars = [Metadata.load(f) for f in found.sidecars]
        metadata = Metadata([r for m in sidecars for r in m.records], sidecars[0].origin)
    if not found.files:
        raise InputError(f"No readable files in {', '.join(map(str, paths))}"
                         + (f" ({'; '.join(found.notes)})" if found.notes else "")
                         + ". Supported: .txt .md .vtt .srt .docx .csv .tsv .jsonl.")
    results, errors = [], []
    for f in found.files:
        try:
            results.append(read_path(f, kind, options, metadata, flags, analyse=analyse))
        except InputError as e:
            if not skip_bad:
                raise
            errors.append(str(e))
    return results, errors, found.notes


# ---------------------------------------------------------------- parallel preparation
CHUNK_SOURCES = 500     # sources per unit of work
PARALLEL_MIN_TURNS = 20_000  # below this, worker processes cost more than they save
_JOB: tuple | None = None  # inherited by forked workers: (chunks, segmenter, sidecar, flags)


def _prepare_chunk(i: int) -> tuple[list[Rows], dict[str, str]]:
    """Language, metadata and sentences for one chunk of sources, returned as table rows.

    Runs in a worker process for big files; it sends back plain tuples only, because pickling
    Source/Excerpt objects would cost more than the work itself.
    """
    chunks, segmenter, sidecar, flags = _JOB  # type: ignore[misc]
    return prepare_rows(chunks[i], segmenter, sidecar, flags), dict(segmenter.used)  # pipelines loaded: provenance


def prepare_rows(items: list[tuple[Source, str, str, int]], segmenter: Segmenter, sidecar: dict, flags: dict) -> list[Rows]:
    """The work on one chunk, wherever it runs (here, a forked worker or a Dask worker): the same rows."""
    sources = [apply_meta(finish(s), sidecar, flags) for s, _, _, _ in items]
    return [rows_for(s, sid, chash, import_id, spans)
            for (s, sid, chash, import_id), spans in zip(items, segment_spans(sources, segmenter))]


def prepare(items: list[tuple[Source, str, str, int]], segmenter: Segmenter, sidecar: dict, flags: dict,
            workers: int = 0) -> Iterator[list[Rows]]:
    """Detect languages, apply metadata, segment and build rows, chunk by chunk, in order.

    Large files (many turns) are prepared by forked worker processes, one per core, while the
    caller stores the chunks already done; the result does not depend on the number of workers.
    """
    global _JOB
    chunks = [items[i:i + CHUNK_SOURCES] for i in range(0, len(items), CHUNK_SOURCES)]
    workers = workers or os.cpu_count() or 1
    n_turns = sum(len(s.turns) for s, _, _, _ in items)
    _JOB = (chunks, segmenter, sidecar, flags)
    try:
        if workers < 2 or n_turns < PARALLEL_MIN_TURNS or "fork" not in mp.get_all_start_methods():
            for i in range(len(chunks)):
                yield _prepare_chunk(i)[0]
            return
        for lang in ("en", "es"):
            segmenter.pipeline(lang)  # load before the fork, so workers inherit it
        with mp.get_context("fork").Pool(workers) as pool:
            for rows, used in pool.imap(_prepare_chunk, range(len(chunks))):
                segmenter.used.update(used)
                yield rows
    finally:
        _JOB = None


def ingest_paths(
    store: Store,
    paths: list[Path | str],
    kind: str | None = None,
    options: ReadOptions | None = None,
    metadata: Metadata | None = None,
    flags: dict[str, Any] | None = None,
    segment: SegmentSettings | None = None,
    skip_bad: bool = False,
    progress: bool | None = None,
    workers: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    redact: bool | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    client=None,
) -> IngestResult:
    """Read, segment and store files; each file in its own all-or-nothing transaction.

    Every file is read and validated first: unless ``skip_bad``, one unreadable file raises
    :class:`InputError` before the study is touched. ``on_progress(done, total)`` is called as
    sources are stored (a notebook's progress bar); ``progress`` shows a tqdm bar.

    ``redact`` (or ``options.redact``): replace PII by typed placeholders (:mod:`workbench.redact`)
    before anything is hashed, segmented or stored; see :func:`redaction_for`.

    ``engine="dask"`` prepares the sources (languages, metadata, sentences) on a Dask cluster — the one
    at ``scheduler``, the ``client``'s, or a LocalCluster of ``workers`` processes (0: one per core)
    started for this call — while this process alone writes the study: the same rows as ``"local"``,
    where ``workers`` is the size of the process pool big files are prepared by (0: one per core).
    """
    from tqdm.auto import tqdm

    if engine not in ("local", "dask"):
        raise InputError(f"Unknown engine {engine!r}; choose local or dask.")
    options = options or ReadOptions()
    flags = flags or {}
    segmenter = Segmenter(segment)
    show = sys.stderr.isatty() if progress is None else progress
    redactor = redaction_for(store, bool(redact or options.redact))
    if redactor is None:
        results, errors, notes = read_all([Path(p) for p in paths], kind, options, metadata, flags, skip_bad,
                                          analyse=False)
    else:
        redactor.add_names(options.interviewers)
        try:
            results, errors, notes = read_all([Path(p) for p in paths], kind, options, metadata, flags, skip_bad,
                                              analyse=False)
        except InputError as e:     # a message may quote a cell (a header-less CSV): never echo PII
            raise InputError(redactor.redact(str(e)).text) from None
        errors = [redactor.redact(e).text for e in errors]
        flags = redact_flags(redactor, flags)
    out = IngestResult(errors=errors, notes=notes, redacted=redactor is not None)
    total = sum(len(r.sources) for r in results)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        bar.update(n)
        if on_progress:
            on_progress(done, total)

    if engine == "dask":
        from .distributed import DaskPreparer
        remote = DaskPreparer(scheduler, workers, client)
    else:
        remote = None

    def prepared(items: list[tuple[Source, str, str, int]], r: ReadResult) -> Iterator[list[Rows]]:
        if remote is not None:
            return remote(items, segmenter, r.sidecar, flags, name=str(r.path))
        return prepare(items, segmenter, r.sidecar, flags, workers)

    detector = detector_id()       # recorded with each import: which models chose its languages
    with remote or contextlib.nullcontext(), \
            tqdm(total=total, desc="Importing", unit="source", disable=not show) as bar:
        for r in results:
            settings = {"segmentation": segmenter.settings.as_dict(), "reader": r.reader.id,
                        "language_detector": detector, "flags": {k: v for k, v in flags.items() if v}}
            # a redacted file and the study's name numbering commit together
            with store.transaction() if redactor is not None else contextlib.nullcontext():
                counts = redact_result(redactor, r) if redactor is not None else None
                report = store.import_sources(
                    str(r.path), r.file_hash, r.reader.id, r.sources,
                    lambda items, r=r: prepared(items, r),
                    settings=lambda settings=settings: settings | {"pipelines": dict(sorted(segmenter.used.items()))},
                    progress=advance)
                if counts is not None and report.status == "imported":
                    save_redaction(store, redactor, r, report, counts)
                    out.redactions.append((r.path.name, sum(counts.values(), Counter())))
            if report.status == "skipped":
                advance(len(r.sources))
            out.reports.append(report)
    return out


# ---------------------------------------------------------------- redaction (workbench.redact)
REDACT_KEY, SALT_KEY, PERSONS_KEY, SUMMARY_KEY = "redact", "redact.salt", "redact.persons", "redact.summary"


def redaction_for(store: Store, redact: bool) -> "Redactor | None":
    """The study's redactor, or None when neither the study nor this import redacts.

    A study that redacts (study setting ``redact=1``, set by its first ``--redact`` import or by
    ``workbench init --redact``) redacts every later import, asked or not: it can't be switched off.
    ``redact`` on a study that already holds sources imported without redaction is refused, because
    their text is stored in clear and the study would only look redacted.
    """
    from .redact import Redactor

    info = store.info()
    if info.get(REDACT_KEY) != "1":
        if not redact:
            return None
        n = store.counts()["sources"]
        if n:
            raise InputError(f"The study {store.path} already holds {n} source(s) imported without --redact; their text "
                             "is stored in clear, so redacting new imports would not make the study safe to share. "
                             "Create a new study (`workbench init NEW.db --redact`) and import everything into it.")
        enable_redaction(store)
        info = store.info()
    persons = json.loads(info.get(PERSONS_KEY) or "{}")
    return Redactor(salt=info[SALT_KEY], persons={k: int(v) for k, v in persons.items()})


def enable_redaction(store: Store) -> None:
    """Turn the study setting ``redact`` on (a new random salt for the name numbering); refused if it has sources."""
    from .redact import Redactor

    info = store.info()
    if info.get(REDACT_KEY) == "1":
        return
    if store.counts()["sources"]:
        raise InputError(f"The study {store.path} already holds sources imported without redaction; create a new study "
                         "to redact.")
    store.set_info({REDACT_KEY: "1", SALT_KEY: Redactor.new_salt(), PERSONS_KEY: "{}", SUMMARY_KEY: "{}"})


def redact_flags(redactor: "Redactor", flags: dict[str, Any]) -> dict[str, Any]:
    """``--participant`` may be a name; the other flags are codes (segment, channel, language, date)."""
    out = dict(flags)
    if out.get("participant"):
        out["participant"] = redactor.redact_name(str(out["participant"]))
    return out


def redact_result(redactor: "Redactor", r: ReadResult) -> dict[int, Counter]:
    """Redact one file's sources (and its sidecar metadata) in place; counts by type per source."""
    from .ingest.metadata import interviewers_of

    redactor.add_names(interviewers_of(r.sidecar))
    side = dict(r.sidecar)
    for k in ("interviewers", "interviewer"):
        side.pop(k, None)
    if side.get("participant"):
        side["participant"] = redactor.redact_name(str(side["participant"]))
    r.sidecar = {k: (v if k in ("participant", "language", "date") else redactor.redact_value(v)) for k, v in side.items()}
    return {i: redactor.redact_source(s) for i, s in enumerate(r.sources)}


def save_redaction(store: Store, redactor: "Redactor", r: ReadResult, report: ImportReport,
                   counts: dict[int, Counter]) -> None:
    """Store the name numbering (hashed) and the per-source summary, in the import's transaction."""
    from .store import source_id_for

    summary = json.loads(store.info().get(SUMMARY_KEY) or "{}")
    stored = set(report.source_ids)
    for i, s in enumerate(r.sources):
        sid = source_id_for(s)
        if sid in stored:
            summary[sid] = {"name": s.name, "counts": dict(sorted(counts[i].items()))}
    store.set_info({PERSONS_KEY: json.dumps(redactor.persons, sort_keys=True), SUMMARY_KEY: json.dumps(summary, sort_keys=True)})


def redaction_summary(store: Store) -> dict[str, dict]:
    """``{source_id: {"name", "counts": {TYPE: n}}}`` of a redacting study ({} otherwise)."""
    return json.loads(store.info().get(SUMMARY_KEY) or "{}")


def preview_paths(paths: list[Path | str], kind: str | None = None, options: ReadOptions | None = None,
                  metadata: Metadata | None = None, flags: dict[str, Any] | None = None, max_turns: int = 200
                  ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """What an import would store, without storing it: one row per turn (the first ``max_turns``).

    Returns the turns (file, source, kind, turn, speaker, role, language, segment, text), the
    errors of files that cannot be read, in plain words, and notes on files set aside, so a panel
    can show all three.
    """
    results, errors, notes = read_all([Path(p) for p in paths], kind, options or ReadOptions(), metadata, flags or {},
                               skip_bad=True, analyse=True)
    rows = []
    for r in results:
        for src in r.sources:
            for i, t in enumerate(src.turns):
                if len(rows) >= max_turns:
                    break
                rows.append({"file": r.path.name, "source": src.name, "kind": src.kind, "turn": i, "speaker": t.speaker,
                             "role": t.role, "language": t.language, "segment": src.segment or "",
                             "text": src.text[t.start:t.end]})
    cols = ["file", "source", "kind", "turn", "speaker", "role", "language", "segment", "text"]
    return pd.DataFrame(rows, columns=cols), errors, notes
