"""WebVTT and SubRip (SRT) transcripts from recording and transcription tools.

Cues are short, so consecutive cues of one speaker are merged into one turn (timestamps from the
first cue's start to the last cue's end). The speaker comes from a voice tag (``<v Ana>``) or a
``Name:`` prefix; a cue without one continues the previous speaker. The stored text is a clean
rendering, ``Speaker: utterance`` per turn, without cue numbers or timings (those stay on turns).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..model import Source
from .base import ReadOptions, TextBuilder, decode_text, register, rendered_turn
from .speakers import assign_roles, match_label, parse_timestamp

_TIMING = re.compile(
    r"^\s*(?P<a>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<b>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
# [^<>] rather than [^>]: a tag never contains "<", and "<v <v <v…" without a ">" stays linear
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?(?:\s+(?P<name>[^<>]*))?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|<\d{1,2}:\d{2}[^<>]*>")


def _cues(text: str, path: Path, fmt: str) -> list[tuple[float, float, str]]:
    blocks = re.split(r"\n\s*\n", text)
    cues = []
    for block in blocks:
        lines = block.strip("\n").split("\n")
        for i, line in enumerate(lines):
            m = _TIMING.match(line)
            if m:
                body = "\n".join(lines[i + 1:]).strip()
                if body:
                    cues.append((parse_timestamp(m.group("a")) or 0.0, parse_timestamp(m.group("b")) or 0.0, body))
                break
    if not cues:
        raise InputError(
            f"Cannot read {path} as {fmt.upper()}: found no cues with timings like "
            f"'00:00:01{',' if fmt == 'srt' else '.'}000 --> 00:00:04{',' if fmt == 'srt' else '.'}000'. "
            "Check the file, or pass --kind transcript for a plain transcript."
        )
    return cues


def _speaker_and_text(body: str) -> tuple[str | None, str]:
    speaker = None
    m = _VOICE.search(body)
    if m:
        speaker = (m.group("name") or "").strip() or None
    clean = _TAG.sub("", body)
    clean = " ".join(clean.split())
    if speaker is None:
        lab = match_label(clean)
        if lab is not None:
            speaker, clean = lab.name, clean[lab.end:]
    return speaker, clean.strip()


def _read(data: bytes, path: Path, options: ReadOptions, fmt: str) -> list[Source]:
    text = decode_text(data, path, options)
    if fmt == "vtt" and not text.lstrip().startswith("WEBVTT"):
        raise InputError(f"Cannot read {path} as WebVTT: it must start with 'WEBVTT'. Pass --kind srt or --kind transcript if it is another format.")
    merged: list[list] = []  # [speaker, t_start, t_end, [texts]]
    for t0, t1, body in _cues(text, path, fmt):
        speaker, utterance = _speaker_and_text(body)
        if not utterance:
            continue
        if speaker is None:
            speaker = merged[-1][0] if merged else "Unknown"
        if merged and merged[-1][0] == speaker:
            merged[-1][2] = t1
            merged[-1][3].append(utterance)
        else:
            merged.append([speaker, t0, t1, [utterance]])
    roles = assign_roles([(m[0], " ".join(m[3])) for m in merged], options.interviewers)
    builder = TextBuilder()
    turns = [
        rendered_turn(builder, spk, roles[spk], " ".join(parts), t_start=t0, t_end=t1)
        for spk, t0, t1, parts in merged
    ]
    return [Source(name=path.name, kind="interview", text=builder.text(), turns=turns,
                   meta={"format": fmt})]


@register("vtt", version=1, extensions=(".vtt",), kind="interview")
def read_vtt(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    return _read(data, path, options, "vtt")


@register("srt", version=1, extensions=(".srt",), kind="interview")
def read_srt(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    return _read(data, path, options, "srt")
