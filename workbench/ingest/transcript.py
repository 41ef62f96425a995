"""Plain-text and Markdown interview transcripts with speaker labels.

The stored text is the file's own (normalised) text, so a quote's offsets can be checked
against the original file by eye. Lines before the first speaker label are a header (title,
date) and belong to no turn; lines without a label continue the current turn.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..model import Source, Turn
from .base import ReadOptions, decode_text, register, strip_span
from .speakers import Label, assign_roles, is_known_role, match_label


def split_turns(text: str, interviewers: set[str] | None = None) -> list[Turn]:
    """Find speaker turns in ``text`` (see :mod:`workbench.ingest.speakers` for the label forms)."""
    lines: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    labels: list[tuple[int, int, Label]] = []  # (line index, line start, label)
    for i, (start, line) in enumerate(lines):
        lab = match_label(line)
        if lab is not None:
            labels.append((i, start, lab))
    counts = Counter(lab.name for _, _, lab in labels)
    accepted = [(i, s, lab) for i, s, lab in labels if is_known_role(lab.name) or counts[lab.name] >= 2]
    if not accepted:
        return []
    raw: list[tuple[str, int, int, float | None]] = []
    for k, (i, line_start, lab) in enumerate(accepted):
        start = line_start + lab.end
        end = accepted[k + 1][1] - 1 if k + 1 < len(accepted) else len(text)
        # A Markdown heading ends the turn before it (a new section of the guide).
        for j in range(i + 1, (accepted[k + 1][0] if k + 1 < len(accepted) else len(lines))):
            if lines[j][1].startswith("#"):
                end = lines[j][0] - 1
                break
        s, e = strip_span(text, start, max(start, end))
        raw.append((lab.name, s, e, lab.seconds))
    roles = assign_roles([(name, text[s:e]) for name, s, e, _ in raw], interviewers)
    turns: list[Turn] = []
    for k, (name, s, e, secs) in enumerate(raw):
        nxt = raw[k + 1][3] if k + 1 < len(raw) else None
        turns.append(Turn(speaker=name, role=roles[name], start=s, end=e, t_start=secs,
                          t_end=nxt if secs is not None else None))
    return turns


@register("transcript", version=1, extensions=(".txt", ".md", ".markdown", ".text"), kind="interview")
def read_transcript(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    text = decode_text(data, path, options)
    turns = split_turns(text, options.interviewers)
    if not turns:
        # No labels at all: a monologue/diary/open answer. One participant turn per paragraph.
        turns = paragraph_turns(text)
    return [Source(name=path.name, kind="interview", text=text, turns=turns)]


def paragraph_turns(text: str) -> list[Turn]:
    turns = []
    pos = 0
    for para in text.split("\n\n"):
        s, e = strip_span(text, pos, pos + len(para))
        if e > s and not text[s:e].startswith("#"):
            turns.append(Turn(speaker="participant", role="participant", start=s, end=e))
        pos += len(para) + 2
    return turns
