"""Segmentation of turns into excerpts with spaCy.

By default each language gets ``spacy.blank(lang)`` + the rule-based ``sentencizer``: fast,
deterministic and shipped with spaCy. When a trained pipeline for the language is installed
(``en_core_web_sm``, ``es_core_news_sm``…) and ``pipeline="auto"``, its parser/senter decides
sentence boundaries instead. The pipeline used is recorded with every import.

Excerpts never cross a turn, and ``source.text[start:end] == excerpt text`` always: spans come
from spaCy's ``start_char``/``end_char`` on the turn text plus the turn's offset.

    >>> Segmenter().spans("Yeah. I waited forty minutes. Then it worked.", "en")
    [(0, 29), (30, 45)]
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Iterable, Sequence

import spacy
from spacy.language import Language
from spacy.pipeline.sentencizer import Sentencizer

TRAINED = {"en": ("en_core_web_sm", "en_core_web_md", "en_core_web_lg"),
           "es": ("es_core_news_sm", "es_core_news_md", "es_core_news_lg")}
_PUNCT = frozenset(Sentencizer.default_punct_chars)


@dataclass(frozen=True)
class SegmentSettings:
    """What decides excerpt boundaries; stored with every import so a run can be reproduced."""

    pipeline: str = "auto"   # "auto" (trained if installed, else blank), "blank", or a package name
    min_chars: int = 12      # shorter sentences ("Yeah.", "Sí.") join their neighbour
    max_chars: int = 600     # longer run-ons are split at a comma or space

    def as_dict(self) -> dict[str, object]:
        return {"pipeline": self.pipeline, "min_chars": self.min_chars, "max_chars": self.max_chars,
                "spacy": spacy.__version__}


class Segmenter:
    def __init__(self, settings: SegmentSettings | None = None) -> None:
        self.settings = settings or SegmentSettings()
        self._pipes: dict[str, Language] = {}
        self.used: dict[str, str] = {}  # language → pipeline actually used (for provenance)

    def pipeline(self, lang: str) -> Language:
        if lang not in self._pipes:
            nlp, name = self._load(lang)
            self._pipes[lang] = nlp
            self.used[lang] = name
        return self._pipes[lang]

    def _load(self, lang: str) -> tuple[Language, str]:
        choice = self.settings.pipeline
        candidates: Sequence[str] = ()
        if choice == "auto":
            candidates = TRAINED.get(lang, ())
        elif choice != "blank":
            candidates = (choice,)
        for pkg in candidates:
            if importlib.util.find_spec(pkg) is not None:
                nlp = spacy.load(pkg, exclude=["ner", "lemmatizer", "attribute_ruler", "tagger", "morphologizer"])
                return nlp, f"{pkg}@{nlp.meta.get('version', '?')}"
            if choice not in ("auto", "blank"):
                raise ValueError(f"spaCy pipeline {pkg!r} is not installed; install it or use --pipeline blank.")
        try:
            nlp = spacy.blank(lang)
        except Exception:
            nlp = spacy.blank("xx")
            lang = "xx"
        nlp.add_pipe("sentencizer")
        return nlp, f"blank:{lang}+sentencizer@spacy{spacy.__version__}"

    def spans(self, text: str, lang: str) -> list[tuple[int, int]]:
        return self.spans_many([text], lang)[0]

    def spans_many(self, texts: list[str], lang: str, batch_size: int = 1000) -> list[list[tuple[int, int]]]:
        """Excerpt spans (relative to each text) for many texts of one language."""
        out: list[list[tuple[int, int]] | None] = [None] * len(texts)
        slow: list[int] = []
        nlp = self.pipeline(lang)
        # The sentencizer only splits after a token that is a sentence-punctuation character, so
        # a text with none before its end is one sentence: skip spaCy for it (same result, faster).
        fast = self.used[lang].startswith("blank:")
        for i, t in enumerate(texts):
            if fast and _one_sentence(t) and len(t) <= self.settings.max_chars:
                s, e = _strip(t, 0, len(t))
                out[i] = [(s, e)] if e > s else []
            else:
                slow.append(i)
        if slow:
            # Very long turns (a monologue, a pasted document) are cut into chunks at line or
            # sentence ends first: spaCy refuses texts over nlp.max_length.
            pieces = [(i, off, chunk) for i in slow for off, chunk in _chunks(texts[i], CHUNK_CHARS)]
            docs = nlp.pipe((chunk for _, _, chunk in pieces), batch_size=batch_size)
            sents: dict[int, list[tuple[int, int]]] = {i: [] for i in slow}
            for (i, off, _), doc in zip(pieces, docs):
                sents[i].extend((off + s.start_char, off + s.end_char) for s in doc.sents)
            for i in slow:
                out[i] = self._post(texts[i], sents[i])
        return [o or [] for o in out]

    def _post(self, text: str, sents: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        spans = [se for se in (_strip(text, s, e) for s, e in sents) if se[1] > se[0]]
        spans = _merge_short(text, spans, self.settings.min_chars)
        out: list[tuple[int, int]] = []
        for s, e in spans:
            out.extend(_split_long(text, s, e, self.settings.max_chars))
        return out


CHUNK_CHARS = 100_000


def _chunks(text: str, limit: int) -> list[tuple[int, str]]:
    """Cut ``text`` into pieces of at most ``limit`` chars at a newline or sentence end."""
    out, start = [], 0
    while len(text) - start > limit:
        window = text[start:start + limit]
        cut = max(window.rfind("\n"), window.rfind(". "), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut > limit // 2 else limit
        out.append((start, text[start:start + cut]))
        start += cut
    out.append((start, text[start:]))
    return out


def _one_sentence(text: str) -> bool:
    """True when the sentencizer cannot split ``text``: no sentence punctuation before its end."""
    body = text.rstrip()
    i = len(body)
    while i > 0 and body[i - 1] in _PUNCT or (i > 0 and body[i - 1] in "\"'”’»)]"):
        i -= 1
    return not any(ch in _PUNCT for ch in body[:i])


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _merge_short(text: str, spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Join sentences shorter than ``min_chars`` to the next one (or the previous, at the end)."""
    if len(spans) < 2:
        return spans
    merged: list[tuple[int, int]] = []
    carry: int | None = None
    for s, e in spans:
        if carry is not None:
            s = carry
            carry = None
        if e - s < min_chars:
            carry = s
            continue
        merged.append((s, e))
    if carry is not None:
        if merged:
            merged[-1] = (merged[-1][0], spans[-1][1])
        else:
            merged.append((carry, spans[-1][1]))
    return merged


def _split_long(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    out = []
    while e - s > max_chars:
        window = text[s:s + max_chars]
        cut = max(window.rfind(", "), window.rfind("; "))
        cut = cut + 1 if cut > max_chars // 3 else window.rfind(" ")
        if cut <= 0:
            cut = max_chars
        a, b = _strip(text, s, s + cut)
        out.append((a, b))
        s, _ = _strip(text, s + cut, e)
    if e > s:
        out.append((s, e))
    return out
