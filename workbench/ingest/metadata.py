"""Source metadata from a sidecar file (CSV or YAML) and CLI flags.

CSV: one row per file, a ``file`` column (name, relative path or glob pattern) and any of
``participant, segment (or persona), channel, date, language, interviewers`` plus free columns.
YAML: either a mapping ``{file: {participant: …}}`` or a list of mappings with a ``file`` key.

Precedence: CLI flags > what the reader found in the data (e.g. a call log's segment column) >
the sidecar. The sidecar fills gaps; it never overrides a per-conversation value.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import yaml

from ..decode import decode, read_bytes
from ..errors import InputError, yaml_problem
from ..model import Source
from ..tables import parse_table

FIELDS = ("participant", "segment", "channel", "date", "language")
ALIASES = {"persona": "segment", "segmento": "segment", "participante": "participant", "canal": "channel",
            "fecha": "date", "idioma": "language", "lang": "language", "source": "file", "name": "file",
            "filename": "file", "archivo": "file"}


class Metadata:
    """Per-file metadata records, matched by file name, relative path or glob pattern."""

    def __init__(self, records: list[dict[str, Any]] | None = None, origin: str = "") -> None:
        self.records = records or []
        self.origin = origin

    @classmethod
    def load(cls, path: Path) -> "Metadata":
        data = read_bytes(path)
        text = decode(data, path).text
        if path.suffix.lower() in (".yml", ".yaml"):
            try:
                obj = yaml.safe_load(text)
            except yaml.YAMLError as e:
                line, problem = yaml_problem(e)
                where = f" at line {line}" if line else ""
                raise InputError(f"Cannot read metadata {path}: invalid YAML{where} ({problem}).") from None
            if isinstance(obj, dict):
                records = [{"file": k, **(v or {})} for k, v in obj.items()]
            elif isinstance(obj, list) and all(isinstance(r, dict) for r in obj):
                records = obj
            else:
                raise InputError(f"Cannot read metadata {path}: expected a mapping of file → fields or a list of records.")
        elif path.suffix.lower() in (".csv", ".tsv"):
            records = [row for _, row in parse_table(text, path).records()]
        else:
            raise InputError(f"Cannot read metadata {path}: use a .csv, .tsv, .yml or .yaml file.")
        norm = []
        for i, r in enumerate(records, start=1):
            rec = {ALIASES.get(str(k).strip().lower(), str(k).strip().lower()): v for k, v in r.items() if k is not None}
            if not rec.get("file"):
                raise InputError(f"Cannot read metadata {path}: record {i} has no 'file' (the source file it describes). "
                                 f"Columns found: {', '.join(map(str, r))}.")
            norm.append(rec)
        return cls(norm, str(path))

    def for_file(self, path: Path) -> dict[str, Any]:
        """Merged metadata of every record whose ``file`` matches ``path`` (later records win)."""
        out: dict[str, Any] = {}
        for rec in self.records:
            pattern = str(rec["file"])
            if (pattern == path.name or path.as_posix().endswith("/" + pattern.lstrip("./"))
                    or fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(path.as_posix(), pattern)):
                out.update({k: v for k, v in rec.items() if k != "file" and v not in (None, "")})
        return out


def interviewers_of(meta: dict[str, Any]) -> set[str]:
    v = meta.get("interviewers") or meta.get("interviewer")
    if not v:
        return set()
    if isinstance(v, list):
        return {str(x).strip() for x in v}
    return {x.strip() for x in str(v).replace(";", ",").split(",") if x.strip()}


def apply(source: Source, sidecar: dict[str, Any], flags: dict[str, Any]) -> Source:
    """Fill the source's metadata: flags override, then the reader's values, then the sidecar."""
    for f in FIELDS:
        flag = flags.get(f)
        if flag:
            value = flag
        elif f == "language":
            value = sidecar.get(f)  # a declared language overrides detection
        else:
            value = getattr(source, f) or sidecar.get(f)
        if value is None:
            continue
        if f == "language":
            source.meta["detected_language"] = source.language
            source.language = str(value)
        else:
            setattr(source, f, str(value))
    for k, v in sidecar.items():
        if k not in FIELDS and k not in ("interviewers", "interviewer"):
            source.meta.setdefault(k, v)
    if not source.participant:
        voices = sorted({t.speaker for t in source.turns if t.role == "participant"})
        if len(voices) == 1:
            source.participant = voices[0]
    return source
