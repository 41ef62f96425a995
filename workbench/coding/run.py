"""Running coders over texts (CSV rows) or over a study's excerpts.

    >>> coder = default_coder()                                              # doctest: +SKIP
    >>> code_frame(coder, ["Still no card, day 12"]).iloc[0]["pain_point"]   # doctest: +SKIP
    'waiting'
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from ..codebook import to_yaml
from ..errors import InputError
from ..files import atomic_file
from ..language import detect
from ..model import Codebook, Coding
from ..store import Store
from ..tables import read_table
from .base import ANY_CODER, CODED_DIMENSIONS, Chain, Coded, Coder, Suggestion, create, one_blas_thread, stored_codes
from .rules import sentiment

#: Per dimension: the code and its probability, then readings derived from it; ``confidence`` is the
#: least of stage, pain point and emotion; ``coders`` names who coded what; ``rationale`` is per dimension.
OUTPUT_COLUMNS = ["stage", "stage_confidence", "pain_point", "pain_point_confidence", "pain_severity",
                  "emotion", "emotion_confidence", "emotion_family", "emotions", "sentiment", "sentiment_confidence", "valence",
                  "touchpoint", "touchpoint_confidence", "actor", "actor_confidence", "backstage", "backstage_confidence",
                  "opportunity", "opportunity_confidence", "activity", "activity_confidence", "thought", "thought_confidence",
                  "confidence", "coders", "rationale"]


DEFAULT_STAGE_MODEL = "awareness_advocacy"


def default_coder(stage_model: str | Codebook = DEFAULT_STAGE_MODEL, languages: Sequence[str] | None = None,
                  emotion: str = "lexicon", brands: Sequence[str] = (), embed: str = "off", cache=None,
                  examples: Mapping[str, tuple[list[str], list[str]]] | None = None, examples_kind: str = "examples",
                  progress: bool = False, activities: Codebook | None = None) -> Chain:
    """The coders ``workbench code`` runs: rules (every dimension), then the emotion model when
    ``emotion="model"`` (and scikit-learn is installed; else the lexicon, with a message), then the
    embedding coder when ``embed`` names an encoder (``auto``, ``e5``, ``minilm``…; ``off`` = none),
    adapted to ``examples`` ({dimension: (texts, labels)}) when given. ``activities`` (default: the ones
    the stage model names) is what a re-run passes to keep the study's own."""
    with one_blas_thread():           # the heads fitted here, as a Dask worker fits them
        return _default_coder(stage_model, languages, emotion, brands, embed, cache, examples, examples_kind, progress,
                              activities)


def _default_coder(stage_model, languages, emotion, brands, embed, cache, examples, examples_kind, progress,
                   activities) -> Chain:
    rules = create("rules", stage_model=stage_model, languages=languages, activities=activities)
    coders: list[Coder] = [rules]
    if emotion == "model":
        model = create("emotion", rules=rules, brands=brands)
        if model is not None:
            coders.append(model)
    if embed != "off":
        coder = create("embed", rules=rules, encoder=embed, cache=cache, brands=brands, examples=examples,
                       kind=examples_kind, progress=progress)
        if coder is not None:
            coders.append(coder)
    return Chain(coders)


#: Label columns an ``--examples`` file may have (blank cell: not labelled for that dimension).
EXAMPLE_COLUMNS = ("stage", "pain_point", "emotion_family", "sentiment", "touchpoint", "actor", "backstage", "opportunity",
                   "activity", "thought")


def read_examples(path: Path, text_column: str, max_file_mb: float | None = None) -> dict[str, tuple[list[str], list[str]]]:
    """Labelled examples from a CSV/TSV/JSONL file: the text column (or ``text``) + any label columns."""
    table = read_table(path, max_file_mb=max_file_mb)
    df = table.frame()
    col = text_column if text_column in df.columns else "text"
    table.require(col, option="--text-column (in the examples file)")
    labels = [c for c in EXAMPLE_COLUMNS if c in df.columns]
    if not labels:
        raise InputError(f"{path} has no label column; give at least one of {', '.join(EXAMPLE_COLUMNS)} "
                         "(a blank cell means not labelled for that dimension).")
    out = {}
    for c in labels:
        rows = df[df[c].astype(str).str.strip() != ""]
        out[c] = ([str(t) for t in rows[col]], [str(v).strip() for v in rows[c]])
    if not any(v[1] for v in out.values()):
        raise InputError(f"{path}: every label cell is blank, so there is nothing to learn from.")
    return out


def study_examples(store: Store, emotions: Mapping) -> dict[str, tuple[list[str], list[str]]]:
    """The researcher's own decisions as labelled examples: every accepted human coding (a recode is
    an accepted code too), per dimension; emotions also teach family and sentiment."""
    c = store.codings()
    if c.empty:
        return {}
    c = c[c["coder"].astype(str).str.startswith("human:") & (c["status"] == "accepted")]
    if c.empty:
        return {}
    text = store.excerpts()[["excerpt_id", "text"]]
    c = c.merge(text, on="excerpt_id").sort_values(["excerpt_id", "dimension", "coding_id"])
    c = c.drop_duplicates(["excerpt_id", "dimension"], keep="last")
    out: dict[str, tuple[list[str], list[str]]] = {}
    for dim, g in c.groupby("dimension", sort=True):
        if dim == "emotion":
            known = g[g["code_id"].isin(list(emotions))]
            out["emotion_family"] = (list(known["text"]), [emotions[k].attributes["family"] for k in known["code_id"]])
            out["sentiment"] = (list(known["text"]), [sentiment(float(emotions[k].attributes["valence"]))
                                                      for k in known["code_id"]])
        else:
            out[str(dim)] = (list(g["text"]), list(g["code_id"]))
    return out


def _chain(coder: Coder) -> Chain:
    return coder if isinstance(coder, Chain) else Chain([coder])


def frame(coded: Coded, n: int, emotions: dict) -> pd.DataFrame:
    """The ``workbench code`` output columns from a coder's suggestions (``emotions``: code → Code)."""
    def col(dim: str) -> list[Suggestion | None]:
        return coded.get(dim) or [None] * n

    rows = []
    for i in range(n):
        got = {dim: col(dim)[i] for dim in CODED_DIMENSIONS}
        st, pain, emo = got["stage"], got["pain_point"], got["emotion"]
        row: dict = {}
        for dim, s in got.items():
            code = "" if s is None or (dim == "pain_point" and s.code_id == "none") else s.code_id
            row[dim] = code
            row[f"{dim}_confidence"] = "" if s is None else round(float(s.confidence), 3)
        row["pain_severity"] = "" if pain is None or pain.value is None or pain.code_id == "none" else int(pain.value)
        valence = float(emo.value or 0.0) if emo else 0.0
        row["emotion_family"] = emotions[emo.code_id].attributes["family"] if emo else ""
        # every emotion the text carries (multi-label: each above its own threshold, most probable first);
        # coders without a multi-label head give their one family
        many = emo.detail.get("emotions") if emo else None
        row["emotions"] = (";".join(many) if many is not None else
                           row["emotion_family"] if row["emotion_family"] not in ("", "neutral") else "")
        row["sentiment"] = emo.detail.get("sentiment", sentiment(valence)) if emo else ""
        row["sentiment_confidence"] = round(float(emo.detail.get("sentiment_confidence", emo.confidence)), 3) if emo else ""
        row["valence"] = round(valence, 3) if emo else ""
        core = [s.confidence for s in (st, pain, emo) if s is not None]
        row["confidence"] = round(min(core), 3) if core else ""
        row["coders"] = " + ".join(dict.fromkeys(s.coder for s in got.values() if s is not None and s.coder))
        row["rationale"] = " | ".join(f"{dim}: {s.rationale}" for dim, s in got.items() if s is not None)
        rows.append(row)
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def code_frame(coder: Coder, texts: Sequence[str], contexts: Sequence[str] | None = None,
               groups: Sequence[str] | None = None) -> pd.DataFrame:
    """One row of codes per text, in the ``workbench code`` output columns (:data:`OUTPUT_COLUMNS`)."""
    chain = _chain(coder)
    texts = ["" if t is None else str(t) for t in texts]
    return frame(chain.code(texts, contexts, groups, languages=text_languages(texts)), len(texts), chain.emotions)


def text_languages(texts: Sequence[str]) -> list[str]:
    """Each text's detected language; ``und`` where it is not detected with confidence (a lone "ok" scores
    Afrikaans first): every coder may code those, as there is no source language to fall back on."""
    return [detect(t).confident() for t in texts]


def study_inputs(store: Store, roles: Sequence[str] = ("participant", "customer")) -> pd.DataFrame:
    """Excerpts to code, each with the previous turn of another speaker as context."""
    ex = store.excerpts()
    turns = store.turns()[["source_id", "turn_index", "speaker", "text"]]
    prev = turns.assign(turn_index=turns["turn_index"] + 1).rename(columns={"text": "context", "speaker": "ctx_speaker"})
    ex = ex.merge(prev, on=["source_id", "turn_index"], how="left")
    ex["context"] = ex["context"].where(ex["ctx_speaker"] != ex["speaker"], "").fillna("")
    return ex[ex["role"].isin(roles)].reset_index(drop=True)


def code_study(store: Store, coder: Coder, roles: Sequence[str] = ("participant", "customer"),
               details: bool = True) -> tuple[pd.DataFrame, int]:
    """Code every customer-voice excerpt and store the suggestions (human decisions are kept).

    The suggestions are stored as the coders made them — code, probability, rationale and the
    coder's versioned id per dimension — and replace every earlier machine suggestion for the
    dimensions coded, so a study never mixes today's coding with a coder no longer used. Returns
    the excerpts with their codes (the ``workbench code`` columns; ``details=False``: the excerpt
    and source ids only, which a million-excerpt run can afford) and how many codings were stored.
    """
    chain = _chain(coder)
    ex = study_inputs(store, roles)
    texts = list(ex["text"])
    coded = chain.code(texts, list(ex["context"]), list(ex["source_id"]), languages=list(ex["language"]))
    ids = list(ex["excerpt_id"])
    stored = 0
    with store.transaction():   # the codings and the settings they were made with commit as one (or not at all)
        for lo in range(0, len(ids), STORE_CHUNK):      # Coding objects for one chunk at a time
            part = ids[lo:lo + STORE_CHUNK]
            codings = [Coding(excerpt_id, dim, code, s.coder or chain.id, conf, why, value=value)
                       for dim, suggestions in coded.items()
                       for excerpt_id, s in zip(part, suggestions[lo:lo + STORE_CHUNK]) if s is not None
                       for code, conf, why, value in stored_codes(s)]
            stored += store.add_codings(codings, replace_dimensions=tuple(coded), excerpt_ids=part)
        store.set_info({"coding.stage_model": chain.stage_model.name,
                        "coding.stage_model_yaml": to_yaml(chain.stage_model),
                        "coding.codebooks": json.dumps(chain.versions, sort_keys=True),
                        # the codebooks themselves, so the map labels claims as the coders coded them
                        "coding.codebooks_yaml": json.dumps({d: to_yaml(cb) for d, cb in chain.codebooks.items()},
                                                            sort_keys=True, ensure_ascii=False),
                        "coding.coders": chain.id,
                        "coding.languages": json.dumps(language_coverage(chain, list(ex["language"])), sort_keys=True)})
        store.refresh_cards()       # the review queue's order, ready for the first page
    if not details:
        return ex[["excerpt_id", "source_id"]], stored
    out = frame(coded, len(texts), chain.emotions)
    return pd.concat([ex[["excerpt_id", "source_id", "text"]], out], axis=1), stored


def language_coverage(chain: Chain, languages: Sequence[str]) -> dict[str, dict]:
    """Per language of these texts: how many, and each dimension's coder (None: no coder covers it there);
    ``"*"`` holds the chain's coders where every coder covers the language (what English gets)."""
    counts: dict[str, int] = {}
    for lang in languages:
        counts[lang] = counts.get(lang, 0) + 1
    cov = chain.coverage(sorted(counts) + ["und"])
    out = {lang: {"n": counts[lang], "coders": cov[lang]} for lang in sorted(counts)}
    out["*"] = {"n": 0, "coders": cov["und"]}
    return out


def merge_coverage(parts: Sequence[Mapping[str, dict]]) -> dict[str, dict]:
    """Partitions' :func:`language_coverage` as one (counts summed; the coders are the same in every partition)."""
    out: dict[str, dict] = {}
    for part in parts:
        for lang, rec in part.items():
            have = out.setdefault(lang, {"n": 0, "coders": rec["coders"]})
            have["n"] += rec["n"]
    return dict(sorted(out.items()))


def coverage_lines(coverage: Mapping[str, dict]) -> list[str]:
    """One line per language whose excerpts some coder of the chain does not code ("6 excerpts in Romanian
    (ro): stage, pain point and emotion coded by embed@1; no coder covers thought in ro")."""
    nominal = coverage.get("*", {}).get("coders")
    lines = []
    for lang, rec in coverage.items():
        coders = rec["coders"]
        if lang == "*" or lang in ANY_CODER or coders == nominal:
            continue
        by: dict[str, list[str]] = {}
        for dim in sorted(coders, key=lambda d: (CODED_DIMENSIONS.index(d) if d in CODED_DIMENSIONS else 99, d)):
            by.setdefault(coders[dim] or "", []).append(dim.replace("_", " "))
        said = [f"{_and(dims)} coded by {c}" for c, dims in by.items() if c]
        if "" in by:
            said.append(f"no coder covers {_and(by[''])} in {lang}")
        n = rec["n"]
        lines.append(f"{n} excerpt{'s' if n != 1 else ''} in {language_name(lang)} ({lang}): " + "; ".join(said) + ".")
    return lines


def study_coverage_lines(info: Mapping[str, str]) -> list[str]:
    """:func:`coverage_lines` of the study's last coding run (stored with it)."""
    raw = info.get("coding.languages")
    return coverage_lines(json.loads(raw)) if raw else []


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def language_name(code: str) -> str:
    """English name of a language code ("ro" → "Romanian"), the code where none is known."""
    try:
        from lingua import IsoCode639_1, Language
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())).name.title()
    except (ImportError, AttributeError, ValueError):
        return {"en": "English", "es": "Spanish"}.get(code, code)


#: excerpts whose codings are built and stored at a time (a large study never holds them all as objects)
STORE_CHUNK = 50_000


def code_file(coder: Coder, path: Path, out: Path, text_column: str, batch_size: int = 2000,
              group_column: str | None = None, context_column: str | None = None, progress: bool = False,
              max_file_mb: float | None = None) -> int:
    """Code a CSV/TSV/JSONL file in batches; write input columns + codes to ``out``.

    The file is read by the one table reader (:mod:`workbench.tables`: a ragged row or an
    unclosed quote stops the run before anything is written) and coded ``batch_size`` rows at a
    time; the output is written atomically (:func:`~workbench.files.atomic_file`), so a crash
    never leaves a half-written result. Returns the number of rows coded.
    """
    from tqdm.auto import tqdm

    table = read_table(path, max_file_mb=max_file_mb)
    table.require(text_column)
    table.require(group_column, option="--group-column")
    table.require(context_column, option="--context-column")
    n = 0
    with atomic_file(out) as fh, tqdm(desc="Coding", unit="row", disable=not progress) as bar:
        for chunk in table.frames(batch_size):
            coded = code_frame(coder, list(chunk[text_column]),
                               list(chunk[context_column].astype(str)) if context_column else None,
                               list(chunk[group_column].astype(str)) if group_column else None)
            clash = [c for c in coded.columns if c in chunk.columns]
            coded.index = chunk.index
            result = pd.concat([chunk, coded.rename(columns={c: f"{c}_coded" for c in clash})], axis=1)
            result.to_csv(fh, index=False, header=(n == 0), lineterminator="\n")
            n += len(chunk)
            bar.update(len(chunk))
        if n == 0:
            raise InputError(f"{path} has no rows to code.")
    return n
