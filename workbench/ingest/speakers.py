"""Speaker labels and roles, in the forms researchers' transcripts use.

Recognised labels at the start of a line::

    Interviewer: …      P1: …      Entrevistador: …      [00:01:02] Ana: …
    **Moderator:** …    **P3**: …  Ana (00:01:02): …     00:01:02 Ana: …

A name-like label counts as a speaker only when it is a known role word or the same label
starts at least two lines, so "Note: the card…" inside a turn is not mistaken for a speaker.
Roles come from the label (``Interviewer`` → interviewer, ``P3`` → participant); named speakers
get their role from the metadata (``interviewers: Ana``) or, failing that, from who asks the
questions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
LABEL_RE = re.compile(
    rf"""^[ \t]*
    (?:[\[(]?(?P<ts1>{_TS})[\])]?[ \t]+(?:-[ \t]+)?)?          # [00:01:02] or 00:01:02 -
    (?P<b1>\*\*|__)?                                            # **bold
    (?P<name>[^\W\d_][\w.'’\- ]{{0,38}}?|[A-Z]{{1,3}}\d{{1,3}}) # Ana, P1, Dr. Ruiz
    (?:[ \t]*[\[(](?P<ts2>{_TS})[\])])?                          # Ana (00:01:02)
    [ \t]*(?P<b2>\*\*|__)?[ \t]*:[ \t]*(?P<b3>\*\*|__)?[ \t]*    # : with bold before/after
    """,
    re.VERBOSE | re.UNICODE,
)

INTERVIEWER_WORDS = frozenset(
    """interviewer interviewers moderator facilitator researcher host int i q
    entrevistador entrevistadora moderador moderadora investigador investigadora facilitador
    facilitadora e
    intervievator intervievatoare intervievatorul cercetător cercetătoare""".split()
)
PARTICIPANT_WORDS = frozenset(
    """participant respondent interviewee user customer client p r a
    participante entrevistado entrevistada usuario usuaria cliente
    participantă intervievat intervievată utilizator utilizatoare clientă""".split()
)
AGENT_WORDS = frozenset("agent advisor adviser rep representative operator asesor asesora agente operador operadora gestor gestora "
                        "consultant consultantă operatoare".split())
OBSERVER_WORDS = frozenset("observer notetaker note-taker observador observadora observator observatoare".split())
BOT_WORDS = frozenset("bot chatbot assistant asistente virtual".split())

# Words that look like labels but start ordinary sentences ("Note: …", "Date: …").
_NOT_SPEAKERS = frozenset(
    """note notes nota notas date fecha time hora location lugar task tarea duration duración
    summary resumen title título subject asunto re fwd url http https todo tip warning aviso
    update edit p.s ps example ejemplo total price precio""".split()
)


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    end: int  # offset just past the label (where the utterance starts), relative to the line
    seconds: float | None


def parse_timestamp(ts: str | None) -> float | None:
    """``"01:02"`` → 62.0, ``"00:01:02,500"`` → 62.5."""
    if not ts:
        return None
    ts = ts.replace(",", ".")
    parts = ts.split(":")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    return round(seconds, 3)


def match_label(line: str) -> Label | None:
    m = LABEL_RE.match(line)
    if not m:
        return None
    name = m.group("name").strip().strip("*_ ")
    if not name or name.lower() in _NOT_SPEAKERS or len(name.split()) > 4:
        return None
    if m.group("b1") and not (m.group("b2") or m.group("b3")):
        return None  # unbalanced bold: "**Note" … is not a label
    return Label(name=name, end=m.end(), seconds=parse_timestamp(m.group("ts1") or m.group("ts2")))


def role_word(name: str) -> str | None:
    """The role a label names by itself, or None for a personal name."""
    low = name.lower().strip(". ")
    base = re.sub(r"[\s_-]*\d+$", "", low)  # "P1" → "p", "Participant 2" → "participant"
    if low in INTERVIEWER_WORDS or base in INTERVIEWER_WORDS - {"i", "e", "q"} or low in {"i", "q", "e"}:
        return "interviewer"
    if base in PARTICIPANT_WORDS or low in PARTICIPANT_WORDS:
        return "participant"
    if base in AGENT_WORDS:
        return "agent"
    if base in OBSERVER_WORDS:
        return "observer"
    if base in BOT_WORDS:
        return "bot"
    return None


def is_known_role(name: str) -> bool:
    return role_word(name) is not None


def assign_roles(
    speakers_turns: list[tuple[str, str]],
    interviewers: set[str] | None = None,
    default: str = "participant",
) -> dict[str, str]:
    """Give each speaker a role.

    ``speakers_turns`` is the ordered list of ``(speaker, turn_text)``. Explicit ``interviewers``
    (from metadata) win; then role words in the label; then, among named speakers, whoever ends
    most turns with a question is the interviewer (when no labelled interviewer exists).
    """
    interviewers = {s.lower() for s in (interviewers or set())}
    roles: dict[str, str] = {}
    for speaker, _ in speakers_turns:
        if speaker in roles:
            continue
        if speaker.lower() in interviewers:
            roles[speaker] = "interviewer"
        else:
            roles[speaker] = role_word(speaker) or ""
    unnamed = [s for s, r in roles.items() if not r]
    if unnamed and "interviewer" not in roles.values() and len(roles) > 1:
        ratio: dict[str, float] = {}
        for s in unnamed:
            texts = [t for sp, t in speakers_turns if sp == s]
            q = sum(1 for t in texts if t.rstrip().endswith("?"))
            ratio[s] = q / max(1, len(texts))
        best = max(sorted(ratio), key=lambda s: ratio[s])
        if ratio[best] >= 0.3:
            roles[best] = "interviewer"
    return {s: (r or default) for s, r in roles.items()}
