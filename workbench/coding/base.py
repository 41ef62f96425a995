"""The one coder interface: what every coder takes and gives, how coders combine, and the registry.

A coder codes a batch of excerpts for one or more dimensions::

    coder.code(texts, contexts, groups, prior) -> {dimension: [Suggestion | None, ...]}

* ``texts`` — the excerpts, in source order; ``contexts`` — the turn before each (an interviewer's
  question); ``groups`` — the source of each, so a coder may smooth along a conversation.
* ``prior`` — what the coders before it in a :class:`Chain` suggested, per dimension: a model coder
  can use the rules coder's cues as evidence and keep them as its readable rationale.
* Each suggestion has a code, a probability (``confidence``), a rationale a researcher can read and
  the id of the coder that made it (``coder``); ``None`` means "no code for this dimension" (no
  touchpoint named). A coder returns only the dimensions it codes; later coders in a chain win.

Coders are found by name in a registry (:func:`register`, :func:`create`), so adding a coder is one
module that calls ``@register("name")`` on a factory. Every coder has a versioned ``id``
(``rules@2``, ``emotion@1``, ``embed@1+examples:3f2a…``) that goes into each coding's provenance, and
says which languages it covers per dimension (``languages``; ``("*",)`` = any): given the texts'
languages, a :class:`Chain` keeps each dimension of each text to the coders that cover its language,
and leaves it uncoded where none does (:func:`covers`, :meth:`Chain.coverage`). A coder with
``reads_languages = True`` is also given them (``code(..., languages=[...])``).
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol, Sequence, runtime_checkable

from ..errors import WorkbenchError

#: The dimensions the coders suggest (``theme`` comes from the themes module, not from a coder).
CODED_DIMENSIONS: tuple[str, ...] = ("stage", "pain_point", "emotion", "touchpoint", "actor", "backstage", "opportunity",
                                     "activity", "thought")
#: The dimensions coded from a codebook's cues and examples alone, one code or none per excerpt.
CUE_DIMENSIONS: tuple[str, ...] = ("touchpoint", "actor", "backstage", "opportunity", "activity", "thought")


@dataclass
class Suggestion:
    """One coder's suggestion for one excerpt and dimension."""

    dimension: str
    code_id: str
    confidence: float
    rationale: str
    value: float | None = None          # valence (emotion) or severity (pain point)
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    sarcastic: bool = False             # emotion: a sarcasm marker overrode the literal words
    coder: str = ""                     # versioned id of the coder that made it (set by the chain when blank)
    detail: dict = field(default_factory=dict)   # extra readings, e.g. {"sentiment": "negative", "sentiment_confidence": 0.8}
    # further codes of the same dimension that this coder also suggests for the text (multi-label emotions):
    # (code, confidence, rationale); stored as codings of their own beside this one, with no value
    also: list[tuple[str, float, str]] = field(default_factory=list)


Coded = dict[str, list["Suggestion | None"]]


def stored_codes(s: Suggestion) -> list[tuple[str, float, str, float | None]]:
    """``(code, confidence, rationale, value)`` of every coding a suggestion stores: its own code (with the
    value), then each code it ``also`` suggests (no value: an excerpt's valence is counted once)."""
    return [(s.code_id, float(s.confidence), s.rationale, None if s.value is None else float(s.value)),
            *((code, float(conf), why, None) for code, conf, why in s.also)]


@runtime_checkable
class Coder(Protocol):
    """What :class:`Chain`, ``workbench code`` and the notebooks need from a coder."""

    id: str
    dimensions: tuple[str, ...]

    def code(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
             prior: Mapping[str, Sequence["Suggestion | None"]]) -> Coded: ...


def _checked(coder: Coder, got: Coded, n: int) -> Coded:
    """A coder's suggestions, one per text for each dimension (else an error naming the coder), each
    stamped with the coder's id unless the coder named itself."""
    for dim, suggestions in got.items():
        if len(suggestions) != n:
            raise WorkbenchError(f"Coder {coder.id} returned {len(suggestions)} {dim} suggestions for {n} texts.")
        for s in suggestions:
            if s is not None and not s.coder:
                s.coder = coder.id
    return {dim: list(suggestions) for dim, suggestions in got.items()}


#: a chain codes each distinct text once when at least this many texts come and at most this share is distinct
DEDUPE_MIN, DEDUPE_SHARE = 1000, 0.7


@contextlib.contextmanager
def one_blas_thread():
    """Linear algebra on one thread while coding and fitting: a BLAS product's last bits depend on how many
    threads share it, and a Dask worker runs one (distributed sets OPENBLAS/MKL/OMP_NUM_THREADS=1), so
    this is what makes a cluster's confidences those of a local run (21 of 1,698 codings differed in the
    third decimal without it). The products are small (vectors × heads); the encoder's own threads are
    torch's and are left alone."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:          # scikit-learn brings it; without it, the default threads
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


class Chain:
    """Coders run in order; each sees what the earlier ones suggested and overrides the dimensions it codes.

    The chain is itself a coder. ``stage_model`` and ``versions`` (codebook versions) come from the
    first coder that has them (the rules coder), so a study records what it was coded with.
    """

    def __init__(self, coders: Sequence[Coder]) -> None:
        if not coders:
            raise WorkbenchError("A chain needs at least one coder.")
        self.coders = list(coders)
        self.id = " + ".join(c.id for c in self.coders)
        self.dimensions = tuple(dict.fromkeys(d for c in self.coders for d in c.dimensions))
        first = next((c for c in self.coders if hasattr(c, "stage_model")), None)
        self.stage_model = getattr(first, "stage_model", None)
        self.versions = dict(getattr(first, "versions", {}))
        self.codebooks = dict(getattr(first, "codebooks", {}))

    def code(self, texts: Sequence[str], contexts: Sequence[str] | None = None, groups: Sequence[str] | None = None,
             prior: Mapping[str, Sequence[Suggestion | None]] | None = None,
             languages: Sequence[str] | None = None) -> Coded:
        """Code ``texts``; ``languages`` (one per text, e.g. the excerpts' detected languages) keeps each
        dimension of each text to the coders that cover its language (:func:`covers`): a text in a
        language no coder covers for a dimension is left uncoded for it (None), never coded by a model
        or cue list of another language (:meth:`coverage` says which coder codes what)."""
        if languages is not None and len(languages) != len(texts):
            raise WorkbenchError(f"{len(languages)} languages for {len(texts)} texts.")
        langs = None if languages is None else ["" if lang is None else str(lang) for lang in languages]
        with one_blas_thread():
            layers: list[tuple[Coder | None, Coded]] = []
            out = self._code(texts, contexts, groups, prior, layers, langs)
        if langs is not None:
            out = _by_language(out, layers, langs)
        return out

    def coverage(self, languages: Sequence[str]) -> dict[str, dict[str, str | None]]:
        """For each language: each dimension's coder (the last in the chain that covers it), None where none does."""
        return {lang: {dim: next((c.id for c in reversed(self.coders) if dim in c.dimensions and covers(c, dim, lang)),
                                 None) for dim in self.dimensions} for lang in languages}

    def _code(self, texts: Sequence[str], contexts: Sequence[str] | None, groups: Sequence[str] | None,
              prior: Mapping[str, Sequence[Suggestion | None]] | None, layers: list,
              languages: list[str] | None = None) -> Coded:
        texts = ["" if t is None else str(t) for t in texts]
        contexts = list(contexts) if contexts is not None else [""] * len(texts)
        groups = list(groups) if groups is not None else [str(i) for i in range(len(texts))]  # no smoothing across rows
        if prior is None and self._worth_deduplicating(texts):
            return self._code_unique(texts, contexts, groups, layers, languages)
        out: Coded = {k: list(v) for k, v in (prior or {}).items()}
        if out:
            layers.append((None, dict(out)))
        for coder in self.coders:
            got = _checked(coder, coder.code(texts, contexts, groups, out, **_language_kw(coder, languages)), len(texts))
            out.update(got)
            layers.append((coder, got))
        return out

    @staticmethod
    def _worth_deduplicating(texts: list[str]) -> bool:
        return len(texts) >= DEDUPE_MIN and len(set(texts)) <= DEDUPE_SHARE * len(texts)

    def _code_unique(self, texts: list[str], contexts: list[str], groups: list[str], layers: list,
                     languages: list[str] | None = None) -> Coded:
        """Code each distinct text once (contact-centre logs repeat "OK", "Thanks", the same complaint),
        then give every excerpt its text's codes. Everything but the stage reads the text alone, so
        this is the same coding; the stage reads the turn before and the excerpts around, so each
        coder codes it again over the whole sequence (:meth:`stages_for`, from its unique texts'
        evidence). A coder without ``stages_for`` codes the stage on every excerpt, as without dedupe.
        Given languages, a text is distinct per language (the same "ok" in two languages is two texts),
        so a coder that reads the languages codes each as it would without dedupe."""
        index: dict[tuple[str, str], int] = {}
        keys = list(zip(texts, languages)) if languages is not None else [(t, "") for t in texts]
        inverse = [index.setdefault(k, len(index)) for k in keys]
        uniq = [t for t, _ in index]
        uniq_langs = [lang for _, lang in index] if languages is not None else None
        out_u: Coded = {}
        out: Coded = {}
        for coder in self.coders:
            got = _checked(coder, coder.code(uniq, [""] * len(uniq), [f"\0{i}" for i in range(len(uniq))], out_u,
                                             **_language_kw(coder, uniq_langs)), len(uniq))
            out_u.update(got)
            layer = {d: _Expanded(v, inverse) for d, v in got.items() if d != "stage"}
            if "stage" in got:
                if hasattr(coder, "stages_for"):
                    stages = coder.stages_for(texts, contexts, groups, uniq, inverse, **_language_kw(coder, uniq_langs))
                else:
                    full = {d: [v[j] for j in inverse] for d, v in out_u.items() if d != "stage"}
                    stages = coder.code(texts, contexts, groups, full, **_language_kw(coder, languages))["stage"]
                out.update(_checked(coder, {"stage": stages}, len(texts)))
                layer["stage"] = out["stage"]
            layers.append((coder, layer))
        for dim, suggestions in out_u.items():
            if dim != "stage":
                out[dim] = [suggestions[j] for j in inverse]     # one shared (read-only) suggestion per text
        return out

    def __getattr__(self, name: str):
        # the rules coder's helpers (stage_ids, emotions…) stay reachable through the chain
        for c in self.__dict__.get("coders", ()):
            if hasattr(c, name):
                return getattr(c, name)
        raise AttributeError(name)


class _Expanded:
    """A unique-text coder's suggestions seen per excerpt (``inverse`` maps each excerpt to its text), unexpanded."""

    def __init__(self, values: Sequence, inverse: Sequence[int]) -> None:
        self.values, self.inverse = values, inverse

    def __getitem__(self, i: int):
        return self.values[self.inverse[i]]


#: Languages that say nothing to cover: a text with no letters, or one whose language is unknown.
ANY_CODER = ("und", "", "xx")


def covers(coder, dimension: str, language: str) -> bool:
    """Whether ``coder`` codes ``dimension`` in ``language``: its ``languages`` (per dimension, or one tuple
    for all; ``"*"`` = any) list it. A coder that declares no languages is taken to cover every one;
    every shipped coder declares them. Text of undetermined language goes to every coder."""
    if language in ANY_CODER:
        return True
    langs = getattr(coder, "languages", None)
    if langs is None:
        return True
    if isinstance(langs, Mapping):
        langs = langs.get(dimension, ("*",))
    return "*" in langs or language in langs


def _language_kw(coder, languages: list[str] | None) -> dict:
    """``{"languages": ...}`` for a coder that reads each text's language (``reads_languages``: e.g. the
    embedding coder, whose codebook heads learn a language's own examples only for texts in it)."""
    return {"languages": languages} if languages is not None and getattr(coder, "reads_languages", False) else {}


def _by_language(out: Coded, layers: list, languages: list[str]) -> Coded:
    """``out`` with each text's dimension taken from the last coder that covers the text's language (None if none)."""
    present = sorted(set(languages))
    if all(covers(c, dim, lang) for c, got in layers if c is not None for dim in got for lang in present):
        return out                       # the common case: every coder covers every language here
    where: dict[str, list[int]] = {}
    for i, lang in enumerate(languages):
        where.setdefault(lang, []).append(i)
    final: Coded = {}
    for dim in out:
        col: list = [None] * len(languages)
        for c, got in layers:
            if dim not in got:
                continue
            values = got[dim]
            values = [values.values[j] for j in values.inverse] if isinstance(values, _Expanded) else list(values)
            for lang in present:                 # texts of a language this coder does not cover keep what they had
                if c is not None and not covers(c, dim, lang):
                    for i in where[lang]:
                        values[i] = col[i]
            col = values
        final[dim] = col
    return final


# ------------------------------------------------------------------ registry
_FACTORIES: dict[str, Callable[..., Coder]] = {}
#: modules holding the built-in coders; each registers itself on import
BUILTIN_MODULES = ("workbench.coding.rules", "workbench.coding.emotion_coder", "workbench.coding.embed")


def register(name: str) -> Callable[[Callable[..., Coder]], Callable[..., Coder]]:
    """Decorator: make a coder factory available as ``name`` (``workbench code --coders name,...``)."""
    def wrap(factory: Callable[..., Coder]) -> Callable[..., Coder]:
        _FACTORIES[name] = factory
        return factory
    return wrap


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def available() -> list[str]:
    """Names of the registered coders."""
    _load_builtins()
    return sorted(_FACTORIES)


def create(name: str, **settings) -> Coder:
    """A coder by registered name (``rules``, ``emotion``, ``embed``), built with ``settings``."""
    _load_builtins()
    if name not in _FACTORIES:
        raise WorkbenchError(f"Unknown coder {name!r}; available: {', '.join(sorted(_FACTORIES))}.")
    return _FACTORIES[name](**settings)


__all__ = ["CODED_DIMENSIONS", "CUE_DIMENSIONS", "Suggestion", "Coded", "Coder", "Chain", "covers", "register", "available", "create"]
