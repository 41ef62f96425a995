"""The data model: plain, typed, serialisable objects.

One object owns text (`Source.text`, normalised); everything else is a *view with offsets*
into it, like spaCy's ``Span`` over a ``Doc``. The invariant every reader, the segmenter and
the store keep::

    source.text[excerpt.start:excerpt.end] == excerpt.text

``Claim``/``JourneyMap`` are derived later from codings and never stored by hand.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from .decisions import is_human

Role = Literal["interviewer", "participant", "agent", "customer", "observer", "bot", "other"]
ROLES: tuple[str, ...] = ("interviewer", "participant", "agent", "customer", "observer", "bot", "other")
#: Roles whose words are the customer's own voice (what journey maps quote).
VOICE_ROLES: tuple[str, ...] = ("participant", "customer")

Dimension = Literal[
    "stage", "pain_point", "emotion", "touchpoint", "actor", "backstage", "opportunity", "activity", "thought", "theme"
]
DIMENSIONS: tuple[str, ...] = (
    "stage", "pain_point", "emotion", "touchpoint", "actor", "backstage", "opportunity", "activity", "thought", "theme",
)
CodingStatus = Literal["suggested", "accepted", "rejected"]
CODING_STATUSES: tuple[str, ...] = ("suggested", "accepted", "rejected")


def content_hash(text: str) -> str:
    """SHA-256 of the normalised text: the identity of a source's content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class Turn:
    """One speaker's uninterrupted contribution, as a span of the source text.

    ``t_start``/``t_end`` are seconds from the start of the recording when the format has
    timestamps (VTT, SRT, ``[00:01:02] Ana:``); ``meta`` keeps per-utterance columns of call
    logs (timestamp, channel…) and usability tags (task, severity).
    """

    speaker: str
    role: str
    start: int
    end: int
    language: str = "und"
    t_start: float | None = None
    t_end: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Unknown role {self.role!r}; expected one of {', '.join(ROLES)}.")
        if not (0 <= self.start <= self.end):
            raise ValueError(f"Invalid turn span [{self.start}, {self.end}).")


@dataclass(slots=True)
class Excerpt:
    """The unit of coding: a sentence or short run of sentences inside one turn."""

    excerpt_id: str
    source_id: str
    turn_index: int
    start: int
    end: int
    text: str
    language: str = "und"


@dataclass(slots=True)
class Source:
    """One document or one conversation, with its normalised text and its turns.

    ``kind`` is what it is (interview, call_log, usability_notes); ``reader`` is the versioned
    reader that produced it (``"vtt@1"``), which goes into provenance.
    """

    name: str
    kind: str
    text: str
    turns: list[Turn] = field(default_factory=list)
    reader: str = ""
    language: str = "und"
    languages: dict[str, float] = field(default_factory=dict)
    mixed_language: bool = False
    participant: str | None = None
    segment: str | None = None
    channel: str | None = None
    date: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # distinguishes several sources of one file, e.g. a conversation id

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)

    def validate(self) -> None:
        """Check that every turn lies inside the text and turns do not overlap."""
        last_end = 0
        n = len(self.text)
        for i, t in enumerate(self.turns):
            if t.end > n:
                raise ValueError(f"{self.name}: turn {i} ends at {t.end}, past the text ({n} chars).")
            if t.start < last_end:
                raise ValueError(f"{self.name}: turn {i} overlaps the previous turn.")
            last_end = t.end


@dataclass(frozen=True, slots=True)
class Code:
    """A code in a codebook. ``order`` ranks stages of a stage model."""

    code_id: str
    dimension: str
    label: str
    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # language → examples
    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)      # language → cue phrases
    parent: str | None = None
    order: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)               # language → label (``label`` otherwise)

    def label_in(self, language: str | None) -> str:
        """The label in ``language`` where the codebook gives one, else :attr:`label`."""
        return self.labels.get(language, self.label) if language else self.label

    def __post_init__(self) -> None:
        if self.dimension not in DIMENSIONS:
            raise ValueError(
                f"Code {self.code_id!r} has unknown dimension {self.dimension!r}; "
                f"expected one of {', '.join(DIMENSIONS)}."
            )


@dataclass(slots=True)
class Codebook:
    """A named, versioned set of codes (a stage model, pain-point categories, emotions…)."""

    name: str
    version: str
    codes: list[Code] = field(default_factory=list)
    description: str = ""
    dimension: str = ""
    kind: str = ""  # "stage_model" for ordered stage codebooks
    default: str = ""  # the code assumed when no evidence points elsewhere (e.g. a stage model's "use")
    #: pain points: cues that grade severity, per level (1 minor, 2 major, 3 blocking) and language
    severity_cues: dict = field(default_factory=dict)
    #: stage models: the activities codebook (name or path) of what customers do at its stages
    activities: str = ""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for c in self.codes:
            if c.code_id in seen:
                raise ValueError(f"Codebook {self.name!r} defines code {c.code_id!r} twice.")
            seen.add(c.code_id)

    def get(self, code_id: str) -> Code:
        for c in self.codes:
            if c.code_id == code_id:
                return c
        known = ", ".join(c.code_id for c in self.codes)
        raise KeyError(f"Unknown code {code_id!r} in codebook {self.name!r}; known codes: {known}.")

    @property
    def ordered(self) -> list[Code]:
        return sorted(self.codes, key=lambda c: (c.order if c.order is not None else 1 << 30, c.code_id))


@dataclass(slots=True)
class Coding:
    """One code applied to one excerpt, with provenance.

    ``coder`` names who or what decided, with its version: ``"rules@1"``, ``"emotion@2"``,
    ``"human:ana"``. Human codings always win over machine suggestions.
    """

    excerpt_id: str
    dimension: str
    code_id: str
    coder: str
    confidence: float = 1.0
    rationale: str = ""
    status: str = "suggested"
    start: int | None = None
    end: int | None = None
    value: float | None = None  # e.g. valence for emotion, severity for pain points
    memo: str = ""
    created_at: str = ""

    def __post_init__(self) -> None:
        if self.status not in CODING_STATUSES:
            raise ValueError(
                f"Unknown coding status {self.status!r}; expected one of {', '.join(CODING_STATUSES)}."
            )
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"Unknown dimension {self.dimension!r}; expected one of {', '.join(DIMENSIONS)}.")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"Confidence must be within 0..1, got {self.confidence}.")
        if not self.coder:
            raise ValueError("A coding needs a coder (e.g. 'rules@1' or 'human:ana').")

    @property
    def is_human(self) -> bool:
        return is_human(self.coder)
