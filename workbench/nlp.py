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

import importlib
import importlib.util
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import spacy
from spacy.attrs import IDX, IS_PUNCT, LENGTH, ORTH, SENT_START
from spacy.language import Language
from spacy.tokens import Doc
from spacy.pipeline.sentencizer import Sentencizer

from .errors import WorkbenchError

TRAINED = {"en": ("en_core_web_sm", "en_core_web_md", "en_core_web_lg"),
           "es": ("es_core_news_sm", "es_core_news_md", "es_core_news_lg")}
_PUNCT = frozenset(Sentencizer.default_punct_chars)
_PUNCT_RE = re.compile("[" + "".join(re.escape(c) for c in sorted(_PUNCT)) + "]")
_CLOSERS = "\"'”’»)]"


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
    """Splits turn texts into excerpt spans; loads one spaCy pipeline per language, lazily."""

    def __init__(self, settings: SegmentSettings | None = None) -> None:
        self.settings = settings or SegmentSettings()
        choice = self.settings.pipeline
        if choice not in ("auto", "blank") and importlib.util.find_spec(choice) is None:
            raise WorkbenchError(f"spaCy pipeline {choice!r} is not installed; install it "
                                 f"(pip install {choice}) or use --pipeline blank.")
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
                # what spacy.load does for an installed package, without requiring pip metadata
                nlp = importlib.import_module(pkg).load(
                    exclude=["ner", "lemmatizer", "attribute_ruler", "tagger", "morphologizer"])
                return nlp, f"{pkg}@{nlp.meta.get('version', '?')}"
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
        self.pipeline(lang)
        # The sentencizer only splits after a token that is a sentence-punctuation character, so
        # a text with none before its end is one sentence: skip spaCy for it (same result, faster).
        fast = self.used[lang].startswith("blank:")
        max_chars = self.settings.max_chars
        for i, t in enumerate(texts):
            if fast and len(t) <= max_chars and _one_sentence(t):
                core = t.strip()
                lead = len(t) - len(t.lstrip())
                out[i] = [(lead, lead + len(core))] if core else []
            else:
                slow.append(i)
        if slow:
            slow_spans = self._spacy_spans([texts[i] for i in slow], lang, batch_size)
            for i, sp in zip(slow, slow_spans):
                out[i] = sp
        return [o or [] for o in out]

    def _spacy_spans(self, texts: list[str], lang: str, batch_size: int) -> list[list[tuple[int, int]]]:
        nlp = self.pipeline(lang)
        # Very long turns (a monologue, a pasted document) are cut into chunks at line or
        # sentence ends first: spaCy refuses texts over nlp.max_length.
        pieces = [(i, off, _tame_runs(chunk)) for i, t in enumerate(texts) for off, chunk in _chunks(t, CHUNK_CHARS)]
        chunks = (chunk for _, _, chunk in pieces)
        sents: list[list[tuple[int, int]]] = [[] for _ in texts]
        if self.used[lang].startswith("blank:"):
            # Blank pipeline: tokenize with spaCy and apply the sentencizer's own rule to token
            # arrays (sentencizer_spans), which avoids a Python Token object per token.
            punct = _punct_orths(nlp)
            for (i, off, _), doc in zip(pieces, nlp.tokenizer.pipe(chunks, batch_size=batch_size)):
                sents[i].extend((off + a, off + b) for a, b in sentencizer_spans(doc, punct))
        else:
            for (i, off, _), doc in zip(pieces, nlp.pipe(chunks, batch_size=batch_size)):
                sents[i].extend((off + a, off + b) for a, b in _sentence_chars(doc))
        return [self._post(t, sp) for t, sp in zip(texts, sents)]

    def _post(self, text: str, sents: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        spans = _move_openers([se for se in (_strip(text, s, e) for s, e in sents) if se[1] > se[0]], text)
        spans = _merge_short(text, spans, self.settings.min_chars)
        out: list[tuple[int, int]] = []
        for s, e in spans:
            out.extend(_split_long(text, s, e, self.settings.max_chars))
        return out


CHUNK_CHARS = 100_000
MAX_RUN = 1000  # characters without whitespace; no real word or URL is this long
_LONG_RUN = re.compile(r"\S{%d,}" % MAX_RUN)
_ATTRS = [IDX, LENGTH, SENT_START]
_RULE_ATTRS = [IDX, LENGTH, ORTH, IS_PUNCT]


def _sentence_chars(doc: Doc) -> list[tuple[int, int]]:
    """``[(s.start_char, s.end_char) for s in doc.sents]``, read from arrays instead of Span objects."""
    if not len(doc):
        return []
    arr = doc.to_array(_ATTRS)
    idx, length, starts = arr[:, 0].tolist(), arr[:, 1].tolist(), arr[:, 2].tolist()
    bounds = [i for i, v in enumerate(starts) if v == 1 and i > 0]
    out, first = [], 0
    for b in bounds + [len(idx)]:
        out.append((idx[first], idx[b - 1] + length[b - 1]))
        first = b
    return out


def _punct_orths(nlp: Language) -> frozenset[int]:
    chars = nlp.get_pipe("sentencizer").punct_chars
    return frozenset(nlp.vocab.strings.add(c) for c in chars)


def sentencizer_spans(doc: Doc, punct_orths: frozenset[int]) -> list[tuple[int, int]]:
    """Sentence character spans by exactly the rule of spaCy's ``Sentencizer.predict``.

    A sentence starts at a token that is neither punctuation nor a sentence-final character
    when such a character occurred since the last start. Reading ``ORTH``/``IS_PUNCT`` arrays
    instead of iterating ``Token`` objects makes it several times faster; a property test checks
    it against the real component on random text.
    """
    n = len(doc)
    if not n:
        return []
    arr = doc.to_array(_RULE_ATTRS)
    idx, length = arr[:, 0].tolist(), arr[:, 1].tolist()
    starts = [0]
    seen = False
    for i, (orth, is_punct) in enumerate(zip(arr[:, 2].tolist(), arr[:, 3].tolist())):
        if orth in punct_orths:
            seen = True
        elif seen and not is_punct:
            starts.append(i)
            seen = False
    ends = starts[1:] + [n]
    return [(idx[a], idx[b - 1] + length[b - 1]) for a, b in zip(starts, ends)]


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


def _tame_runs(text: str) -> str:
    """``text`` with every whitespace-free run of ``MAX_RUN`` or more characters made letters but its last.

    spaCy's tokenizer strips affixes one at a time and searches the rest of the token after each,
    so a run such as ``((((…`` or ``....…`` takes quadratic time (minutes for 100 KB). Such a run
    holds no sentence boundary worth finding, and the copy has the same length, so the spans the
    tokenizer gives are still offsets into ``text``.
    """
    if _LONG_RUN.search(text) is None:
        return text
    return _LONG_RUN.sub(lambda m: "x" * (len(m.group()) - 1) + m.group()[-1], text)


def _one_sentence(text: str) -> bool:
    """True when the sentencizer cannot split ``text``: no sentence punctuation before its end."""
    body = text.rstrip()
    i = len(body)
    while i > 0 and (body[i - 1] in _PUNCT or body[i - 1] in _CLOSERS):
        i -= 1
    return _PUNCT_RE.search(body, 0, i) is None


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    piece = text[s:e]
    core = piece.strip()
    if not core:
        return s, s
    lead = len(piece) - len(piece.lstrip())
    return s + lead, s + lead + len(core)


_OPENERS = "¿¡«“‘([{"


def _move_openers(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Give opening marks back to the sentence they open.

    spaCy's sentencizer keeps punctuation that follows a full stop with the sentence before it
    (right for closing quotes), which strands Spanish "¿"/"¡" and opening quotes at the end of
    the previous sentence: "Vale. ¿Y luego?" would become "Vale. ¿" + "Y luego?".
    """
    out = list(spans)
    for i in range(len(out) - 1):
        s, e = out[i]
        k = e
        while k > s and text[k - 1] in _OPENERS:
            k -= 1
        if k < e:
            out[i] = _strip(text, s, k)
            out[i + 1] = (k, out[i + 1][1])
    return [se for se in out if se[1] > se[0]]


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
