"""Headless verbs that the CLI, notebooks and workers share: read → segment → store.

    >>> reports = ingest_paths(store, [Path("corpora/interviews")], metadata=Metadata.load(meta))  # doctest: +SKIP
"""
from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import InputError
from .ingest import Metadata, ReadOptions, ReadResult, iter_files, read_path
from .language import UNDETERMINED, detect
from .model import Excerpt, Source
from .nlp import Segmenter, SegmentSettings
from .store import ImportReport, Store


def segment_source(source: Source, segmenter: Segmenter) -> list[Excerpt]:
    """Split every turn of ``source`` into excerpts; ids are assigned by the store."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(source.turns):
        by_lang[t.language if t.language != UNDETERMINED else source.language].append(i)
    spans: dict[int, list[tuple[int, int]]] = {}
    for lang, idx in by_lang.items():
        lang = lang if lang != UNDETERMINED else "xx"
        texts = [source.text[source.turns[i].start:source.turns[i].end] for i in idx]
        for i, sp in zip(idx, segmenter.spans_many(texts, lang)):
            spans[i] = sp
    out: list[Excerpt] = []
    for i, turn in enumerate(source.turns):
        for s, e in spans[i]:
            start, end = turn.start + s, turn.start + e
            text = source.text[start:end]
            lang = turn.language
            if source.mixed_language:
                d = detect(text)
                if d.language != UNDETERMINED and d.confidence >= 0.3:
                    lang = d.language
            out.append(Excerpt(excerpt_id="", source_id="", turn_index=i, start=start, end=end, text=text, language=lang))
    return out


@dataclass
class IngestResult:
    reports: list[ImportReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_all(paths: list[Path], kind: str | None, options: ReadOptions, metadata: Metadata | None,
             flags: dict[str, Any], skip_bad: bool = False,
             on_file: Callable[[Path], None] | None = None) -> tuple[list[ReadResult], list[str]]:
    """Read and validate every file before anything is written (so one bad file changes nothing)."""
    exclude = {Path(metadata.origin)} if metadata and metadata.origin else set()
    files = list(iter_files(paths, exclude))
    if not files:
        raise InputError(f"No readable files in {', '.join(map(str, paths))}. "
                         "Supported: .txt .md .vtt .srt .docx .csv .tsv .jsonl.")
    results, errors = [], []
    for f in files:
        if on_file:
            on_file(f)
        try:
            results.append(read_path(f, kind, options, metadata, flags))
        except InputError as e:
            if not skip_bad:
                raise
            errors.append(str(e))
    return results, errors


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
) -> IngestResult:
    """Read, segment and store files; each file in its own all-or-nothing transaction.

    Every file is read and validated first: unless ``skip_bad``, one unreadable file raises
    :class:`InputError` before the study is touched.
    """
    from tqdm.auto import tqdm

    options = options or ReadOptions()
    segmenter = Segmenter(segment)
    show = sys.stderr.isatty() if progress is None else progress
    results, errors = read_all([Path(p) for p in paths], kind, options, metadata, flags or {}, skip_bad)
    out = IngestResult(errors=errors)
    total = sum(len(r.sources) for r in results)
    with tqdm(total=total, desc="Importing", unit="source", disable=not show) as bar:
        for r in results:
            settings = {"segmentation": segmenter.settings.as_dict(), "reader": r.reader.id,
                        "flags": {k: v for k, v in (flags or {}).items() if v}}
            report = store.import_sources(
                str(r.path), r.file_hash, r.reader.id, r.sources,
                lambda s: segment_source(s, segmenter),
                settings=settings | {"pipelines": segmenter.used}, progress=bar.update)
            if report.status == "skipped":
                bar.update(len(r.sources))
            out.reports.append(report)
    return out
