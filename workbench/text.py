"""Words, stop words and names: what phrase mining (journey maps) and theme labels (themes) share.

A *name* (a brand, a person, a place) is a word written capitalised in mid-sentence more often
than in lower case, or capitalised at least three times and never in lower case (a brand that
opens every post). Names, @handles, #hashtags and URLs are never phrases or theme labels.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
SENTENCE_INITIAL = re.compile(r"(?:^|\n|(?<=[.!?¿¡])\s)[^\w\n]*?([^\W\d_]+(?:['’][^\W\d_]+)?)")
HANDLES_URLS = re.compile(r"[@#]\w+|https?://\S+|www\.\S+")

_DATA = Path(__file__).resolve().parent / "data"
_STOP: frozenset[str] | None = None
_EXTRA = {  # fillers of interviews, calls and posts, EN + ES, beyond spaCy's lists
    "yeah", "okay", "ok", "um", "uh", "eh", "mm", "vale", "pues", "bueno", "hola", "hello", "hi", "gracias", "thanks",
    "thank", "please", "pls", "por", "favor", "really", "just", "like", "yes", "no", "sí", "si", "que", "qué", "ya",
    "mire", "oye", "laughs", "risas", "bit", "lot", "thing", "things", "cosa", "cosas", "i'm", "it's", "don't", "didn't",
    "i'd", "that's", "there's", "can't", "sort", "kind", "know", "think", "thought", "said", "told", "dijeron", "creo",
    "pensé", "mean", "needed", "miré", "dije", "went", "got", "get", "going", "want", "wanted", "need", "quería", "tenía",
    "puedo", "amp", "rt", "dm", "smh", "lol", "ll", "ve", "re", "don", "didn", "doesn", "isn", "wasn", "won", "can",
    # the rest of the negated and pronoun contractions (spaCy lists "don't" and "i'm" but not "wasn't" or "i've")
    "wasn't", "isn't", "aren't", "weren't", "hasn't", "haven't", "hadn't", "doesn't", "won't", "wouldn't", "couldn't",
    "shouldn't", "i've", "i'll", "you're", "you've", "we're", "we've", "they're", "they've", "he's", "she's",
    "aren", "couldn", "hadn", "hasn", "haven", "shouldn", "weren", "wouldn"}
# numbers written as words are numbers: like digits, never a theme label or a stage's distinctive word
_NUMBERS = frozenset("""
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen
nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million dozen
uno una dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis diecisiete dieciocho
diecinueve veinte veintiuno veintiuna veintidós veintitrés veinticuatro veinticinco veintiséis veintisiete veintiocho
veintinueve treinta cuarenta cincuenta sesenta setenta ochenta noventa cien ciento doscientos doscientas trescientos
trescientas cuatrocientos quinientos seiscientos setecientos ochocientos novecientos mil millón millones docena
""".split())


def number_words() -> frozenset[str]:
    """Numbers written as words, EN + ES ("fifteen", "quince"): part of :func:`stop_words`."""
    return _NUMBERS


def stop_words() -> frozenset[str]:
    """spaCy's English and Spanish stop words plus conversational fillers and number words, lower case.

    spaCy's lists ship as ``workbench/data/stop_words_{en,es}.txt``: importing spaCy (and, through
    thinc, torch when it is installed) costs seconds that a map or a theme run need not pay.
    """
    global _STOP
    if _STOP is None:
        words = set(_EXTRA) | _NUMBERS
        for lang in ("en", "es"):
            text = (_DATA / f"stop_words_{lang}.txt").read_text(encoding="utf-8")
            words |= {w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#")}
        _STOP = frozenset(words)
    return _STOP


def names_from_forms(forms: Sequence[str], counts: Sequence[int], initial: Mapping[str, int]) -> set[str]:
    """Names (lower case) among token ``forms`` seen ``counts`` times, ``initial[form]`` of them sentence-initial."""
    mid: dict[str, int] = {}
    capital: dict[str, int] = {}
    low: dict[str, int] = {}
    for form, n in zip(forms, counts):
        w = form.lower()
        if form[0].isupper():
            mid[w] = mid.get(w, 0) + int(n) - int(initial.get(form, 0))
            capital[w] = capital.get(w, 0) + int(n)
        else:
            low[w] = low.get(w, 0) + int(n)
    stop = stop_words()
    return {w for w, n in mid.items()
            if w not in stop and ((n > 0 and n > low.get(w, 0)) or (w not in low and capital[w] >= 3))}


def form_counts(texts: Iterable[str]) -> tuple[pd.Series, pd.Series]:
    """How often each word form occurs in ``texts`` (handles and URLs left out), and how often sentence-initially."""
    joined = HANDLES_URLS.sub(" ", "\n".join(texts))
    return (pd.Series(TOKEN.findall(joined), dtype=object).value_counts(),
            pd.Series(SENTENCE_INITIAL.findall(joined), dtype=object).value_counts())


def capitalised_names(texts: Iterable[str]) -> set[str]:
    """The names in ``texts`` (see the module docstring); handles and URLs are left out first."""
    counts, initial = form_counts(texts)
    return names_from_forms(counts.index.tolist(), counts.tolist(), initial)


def case_counts(counts: pd.Series, initial: pd.Series) -> dict[str, tuple[int, int]]:
    """Per word (lower case), from ``form_counts``: how often it is written capitalised in mid-sentence,
    and how often in lower case."""
    out: dict[str, tuple[int, int]] = {}
    for form, n in counts.items():
        w = form.lower()
        mid, low = out.get(w, (0, 0))
        if form[0].isupper():
            out[w] = (mid + int(n) - int(initial.get(form, 0)), low)
        else:
            out[w] = (mid, low + int(n))
    return out


__all__ = ["HANDLES_URLS", "SENTENCE_INITIAL", "TOKEN", "capitalised_names", "case_counts", "form_counts", "names_from_forms", "stop_words"]
