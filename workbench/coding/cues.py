"""Finding a codebook's cue phrases in text, with negation, accent-insensitively.

Cues match on whole words after case and accent folding ("cuanto cuesta" finds "cuánto
cuesta"), so chat-style Spanish without accents still matches. A cue is *negated* when a negator
("not", "never", "no", "nunca", "sin"…) stands in the three words before it and the cue does not
itself carry a negation ("it wasn't slow at all" negates "slow"; "never arrived" is a complaint).

    >>> m = CueMatcher({"waiting": ("slow", "still no")}).find("It wasn't slow at all")
    >>> (m[0].code_id, m[0].negated)
    ('waiting', True)
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Mapping, Sequence

NEGATORS = frozenset("""not no never nothing nobody none neither nor without hardly barely wasn't weren't isn't aren't
    didn't doesn't don't won't wouldn't couldn't can't cannot haven't hasn't hadn't ain't
    nunca nada nadie ningun ninguna ninguno ni sin tampoco jamas""".split())
_WORD = re.compile(r"[\w']+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip accents (ñ folds to n too, as people often type it in chats)."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class CueMatch:
    code_id: str
    cue: str
    start: int  # offsets into the text searched
    end: int
    negated: bool


class CueMatcher:
    """One compiled regex per codebook: longest cues first, whole words only."""

    def __init__(self, cues: Mapping[str, Sequence[str]]) -> None:
        self._owner: dict[str, str] = {}
        for code_id, phrases in cues.items():
            for p in phrases:
                key = fold(p).strip()
                if key and key not in self._owner:
                    self._owner[key] = code_id
        alternatives = sorted(self._owner, key=lambda k: (-len(k), k))
        body = "|".join(re.escape(a) for a in alternatives) or r"(?!x)x"
        # a cue also matches its plain plural ("complaint" finds "complaints")
        self._re = re.compile(rf"(?<![\w'])(?:{body})(?:e?s)?(?![\w'])")

    def find(self, text: str) -> list[CueMatch]:
        folded = _fold_aligned(text)
        out = []
        for m in self._re.finditer(folded):
            cue = m.group(0)
            if cue not in self._owner:  # matched with a plural ending
                cue = cue[:-2] if cue[:-2] in self._owner else cue[:-1]
            before = _WORD.findall(folded[max(0, m.start() - 40):m.start()])[-3:]
            own_negation = any(w in NEGATORS for w in _WORD.findall(cue))
            negated = not own_negation and any(w in NEGATORS for w in before)
            out.append(CueMatch(self._owner[cue], cue, m.start(), m.end(), negated))
        return out


def _fold_aligned(text: str) -> str:
    """Fold character by character, one character out per character in, so offsets stay aligned."""
    if text.isascii():          # the common case: ASCII lower-casing is already one character per character
        return text.lower()
    return "".join(map(_fold_char, text))


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return (fold(ch) or " ")[0]
