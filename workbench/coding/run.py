"""Running coders over texts (CSV rows) or over a study's excerpts.

    >>> coder = default_coder()                                              # doctest: +SKIP
    >>> code_frame(coder, ["Still no card, day 12"]).iloc[0]["pain_point"]   # doctest: +SKIP
    'waiting'
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..codebook import resolve, to_yaml
from ..errors import CodebookError, InputError
from ..files import atomic_file
from ..model import Codebook, Coding
from ..store import Store
from ..tables import read_table
from .rules import ModelEmotionCoder, RulesCoder, mask, sentiment

OUTPUT_COLUMNS = ["stage", "stage_confidence", "pain_point", "pain_severity", "emotion", "emotion_family", "sentiment",
                  "valence", "touchpoint", "actor", "confidence", "rationale"]


DEFAULT_STAGE_MODEL = "awareness_advocacy"


def default_coder(stage_model: str | Codebook = DEFAULT_STAGE_MODEL, languages: Sequence[str] | None = None) -> RulesCoder:
    """The rules coder with the shipped codebooks and a stage model (name, YAML path or codebook)."""
    stages = stage_model if isinstance(stage_model, Codebook) else resolve(stage_model)
    if stages.dimension != "stage":
        raise CodebookError(f"'{stage_model}' is a {stages.dimension} codebook; --codebook takes a stage model "
                            "(e.g. awareness_advocacy, attraction_service, b2b_seven or your YAML file).")
    return RulesCoder(stages, resolve("pain_points"), resolve("emotions"), resolve("touchpoints"), resolve("actors"),
                      languages=languages, backstage=resolve("backstage"), opportunities=resolve("opportunities"))


def code_frame(coder: RulesCoder, texts: Sequence[str], contexts: Sequence[str] | None = None,
               groups: Sequence[str] | None = None, emotion_coder: ModelEmotionCoder | None = None) -> pd.DataFrame:
    """One row of codes per text, in the ``workbench code`` output columns.

    Emotions come from ``emotion_coder`` (the GoEmotions model) when given, else from the lexicon.
    """
    texts = ["" if t is None else str(t) for t in texts]
    contexts = contexts or [""] * len(texts)
    groups = groups or [str(i) for i in range(len(texts))]  # no grouping: no smoothing across rows
    stages = coder.stages(texts, contexts, groups)
    pains = [coder.pain(t) for t in texts]
    emotions = (emotion_coder.emotions(texts, pains) if emotion_coder
                else [coder.emotion(mask(t), p) for t, p in zip(texts, pains)])
    rows = []
    for text, st, pain, emo in zip(texts, stages, pains, emotions):
        touch = coder.first(coder.m_touch, "touchpoint", text)
        actor = coder.first(coder.m_actor, "actor", text)
        family = coder.emotions[emo.code_id].attributes["family"]
        rows.append({
            "stage": st.code_id, "stage_confidence": st.confidence,
            "pain_point": "" if pain.code_id == "none" else pain.code_id,
            "pain_severity": "" if pain.value is None else int(pain.value),
            "emotion": emo.code_id, "emotion_family": family, "sentiment": sentiment(emo.value or 0.0),
            "valence": emo.value, "touchpoint": touch.code_id if touch else "", "actor": actor.code_id if actor else "",
            "confidence": round(min(st.confidence, pain.confidence, emo.confidence), 3),
            "rationale": f"stage: {st.rationale} | pain: {pain.rationale} | emotion: {emo.rationale}",
        })
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def study_inputs(store: Store, roles: Sequence[str] = ("participant", "customer")) -> pd.DataFrame:
    """Excerpts to code, each with the previous turn of another speaker as context."""
    ex = store.excerpts()
    turns = store.turns()[["source_id", "turn_index", "speaker", "text"]]
    prev = turns.assign(turn_index=turns["turn_index"] + 1).rename(columns={"text": "context", "speaker": "ctx_speaker"})
    ex = ex.merge(prev, on=["source_id", "turn_index"], how="left")
    ex["context"] = ex["context"].where(ex["ctx_speaker"] != ex["speaker"], "").fillna("")
    return ex[ex["role"].isin(roles)].reset_index(drop=True)


def code_study(store: Store, coder: RulesCoder, roles: Sequence[str] = ("participant", "customer"),
               emotion_coder: ModelEmotionCoder | None = None) -> tuple[pd.DataFrame, int]:
    """Code every customer-voice excerpt and store the suggestions (human decisions are kept)."""
    ex = study_inputs(store, roles)
    coded = code_frame(coder, list(ex["text"]), list(ex["context"]), list(ex["source_id"]), emotion_coder)
    codings: list[Coding] = []
    for (_, e), (_, c) in zip(ex.iterrows(), coded.iterrows()):
        codings.append(Coding(e.excerpt_id, "stage", c.stage, coder.id, float(c.stage_confidence),
                              c.rationale.split(" | ")[0]))
        codings.append(Coding(e.excerpt_id, "pain_point", c.pain_point or "none", coder.id, float(c.confidence),
                              c.rationale.split(" | ")[1], value=float(c.pain_severity) if c.pain_severity != "" else None))
        codings.append(Coding(e.excerpt_id, "emotion", c.emotion, emotion_coder.id if emotion_coder else coder.id,
                              float(c.confidence),
                              c.rationale.split(" | ")[2], value=float(c.valence)))
        for dim in ("touchpoint", "actor"):
            if c[dim]:
                codings.append(Coding(e.excerpt_id, dim, c[dim], coder.id, 0.7, f"cue for {c[dim]}"))
        for dim, matcher in (("backstage", coder.m_backstage), ("opportunity", coder.m_opportunity)):
            found = coder.first(matcher, dim, e.text)
            if found:
                codings.append(Coding(e.excerpt_id, dim, found.code_id, coder.id, found.confidence, found.rationale))
    with store.transaction():   # the codings and the settings they were made with commit as one (or not at all)
        stored = store.add_codings(codings)
        store.set_info({"coding.stage_model": coder.stage_model.name,
                        "coding.stage_model_yaml": to_yaml(coder.stage_model),
                        "coding.codebooks": json.dumps(coder.versions, sort_keys=True)})
    return pd.concat([ex[["excerpt_id", "source_id", "text"]], coded], axis=1), stored


def code_file(coder: RulesCoder, path: Path, out: Path, text_column: str, batch_size: int = 2000,
              group_column: str | None = None, context_column: str | None = None, progress: bool = False,
              emotion_coder: ModelEmotionCoder | None = None, max_file_mb: float | None = None) -> int:
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
                               list(chunk[group_column].astype(str)) if group_column else None, emotion_coder)
            clash = [c for c in coded.columns if c in chunk.columns]
            coded.index = chunk.index
            result = pd.concat([chunk, coded.rename(columns={c: f"{c}_coded" for c in clash})], axis=1)
            result.to_csv(fh, index=False, header=(n == 0), lineterminator="\n")
            n += len(chunk)
            bar.update(len(chunk))
        if n == 0:
            raise InputError(f"{path} has no rows to code.")
    return n
