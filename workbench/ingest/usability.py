"""Usability-test notes in Markdown, as observers write them.

    # Usability test — app account opening
    - Participant: U01 (segment: young_professional)

    ## Task 1: Find the fees
    - Scrolled past the fee table twice [severity: 2]
    > "Where would the fees be?"

Each ``## Task`` heading starts a task; bullets under it are observer notes (role observer),
blockquotes are verbatim participant quotes (role participant). Severity tags
(``[severity: 2]``, ``[sev 3]``, ``#sev2``) and the task go into the turn's metadata. Header
bullets before the first task (``Participant:``, ``Date:``) become source metadata.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..model import Source, Turn
from .base import ReadOptions, decode_text, register, strip_span

_TASK = re.compile(r"^#{2,4}\s*(?P<title>(?:task|tarea|t)\s*\d+.*|.+)$", re.IGNORECASE)
_SEVERITY = re.compile(r"\[\s*sev(?:erity|eridad)?\s*[:=]?\s*(?P<n>[1-4])\s*\]|#sev(?:erity)?[-_ ]?(?P<m>[1-4])\b", re.IGNORECASE)
_HEADER_KV = re.compile(r"^\s*[-*]\s*(?P<k>[^:]{1,30}):\s*(?P<v>.+)$")
_PARTICIPANT = re.compile(r"(?P<id>[A-Z]{1,3}\d{1,3})(?:\s*\((?:segment|segmento)\s*:\s*(?P<seg>[\w-]+)\))?")
_QUOTE_SPEAKER = re.compile(r'^(?P<name>[A-Z]{1,3}\d{1,3})\s*:\s*')


def looks_like_usability(text: str) -> bool:
    head = text[:20000]
    return bool(re.search(r"^#{2,4}\s*(task|tarea)\s*\d", head, re.IGNORECASE | re.MULTILINE)) and "\n>" in head


@register("usability", version=1, extensions=(".md", ".markdown", ".txt"), kind="usability_notes",
          sniff=looks_like_usability)
def read_usability(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    text = decode_text(data, path, options)
    turns: list[Turn] = []
    meta: dict[str, str] = {}
    participant = segment = None
    task: str | None = None
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _TASK.match(stripped)
            if m and stripped.startswith("##"):
                task = m.group("title").strip()
            continue
        if task is None:
            kv = _HEADER_KV.match(line)
            if kv:
                meta[kv.group("k").strip().lower()] = kv.group("v").strip()
                pm = _PARTICIPANT.search(kv.group("v")) if kv.group("k").strip().lower() in ("participant", "participante") else None
                if pm:
                    participant, segment = pm.group("id"), pm.group("seg") or segment
            continue
        if stripped.startswith(">"):
            offset = line.index(">") + 1
            role, speaker = "participant", participant or "participant"
        elif stripped[0] in "-*+" and len(stripped) > 1 and stripped[1] == " ":
            offset = line.index(stripped[0]) + 2
            role, speaker = "observer", "observer"
        else:
            offset = len(line) - len(line.lstrip())
            role, speaker = "observer", "observer"
        s, e = strip_span(text, line_start + offset, line_start + len(line))
        if e <= s:
            continue
        body = text[s:e]
        qs = _QUOTE_SPEAKER.match(body) if role == "participant" else None
        if qs:
            speaker = qs.group("name")
            s, e = strip_span(text, s + qs.end(), e)
        turn_meta: dict[str, object] = {"task": task}
        sev = _SEVERITY.search(body)
        if sev:
            turn_meta["severity"] = int(sev.group("n") or sev.group("m"))
        turns.append(Turn(speaker=speaker, role=role, start=s, end=e, meta=turn_meta))
    tasks = sorted({t.meta["task"] for t in turns if t.meta.get("task")}, key=lambda x: str(x))
    return [Source(name=path.name, kind="usability_notes", text=text, turns=turns,
                   participant=participant, segment=segment, date=meta.get("date") or meta.get("fecha"),
                   meta={"header": meta, "tasks": tasks})]
