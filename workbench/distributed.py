"""Coding a study on a Dask cluster: the per-partition work on workers, one writer for the study.

    >>> code_study_dask(store, CoderSpec(stage_model=model), scheduler=None, workers=2)   # doctest: +SKIP

The study's customer-voice excerpts are cut into partitions of whole sources (a conversation's stage
is smoothed along it, so a source never spans two partitions). Each worker builds the coders once
from a :class:`CoderSpec` (plain data: the stage model, languages, the examples to learn from…) and
codes its partitions; each partition's suggestions come back as an Arrow table. The calling process
alone writes the study, partition by partition in study order, in one transaction — SQLite stays the
single source of truth and the result is the one :func:`~workbench.coding.run.code_study` gives (the
same codings, so the same map). A worker that dies has its partition run again elsewhere (Dask
reschedules it); a partition's result is written once, whichever attempt produced it.

``scheduler=None`` starts a :class:`distributed.LocalCluster` on 127.0.0.1 with ``workers``
processes; any scheduler address (``tcp://host:8786``) uses that cluster instead, whose workers need
this package installed (and the encoder, for the embedding coder).
"""
from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from .codebook import to_yaml
from .errors import WorkbenchError
from .model import Codebook, Coding
from .store import Store

#: customer-voice excerpts per partition (whole sources; a partition is at least one source)
PARTITION_EXCERPTS = 50_000
_COLUMNS = ["row", "dimension", "code_id", "coder", "confidence", "rationale", "value"]


@dataclass(frozen=True)
class CoderSpec:
    """What a worker needs to build the coders :func:`~workbench.coding.run.default_coder` builds.

    The embedding coder's vector cache is the study, which workers do not open: they encode what
    they code (the encoder dedupes within a partition)."""

    stage_model: Codebook | str = "awareness_advocacy"
    languages: tuple[str, ...] | None = None
    emotion: str = "lexicon"
    brands: tuple[str, ...] = ()
    embed: str = "off"
    examples: Mapping[str, tuple[list[str], list[str]]] | None = None
    examples_kind: str = "examples"
    activities: Codebook | None = None

    def key(self) -> str:
        return hashlib.sha256(pickle.dumps(self, protocol=4)).hexdigest()[:16]

    def build(self):
        from .coding.run import default_coder

        return default_coder(self.stage_model, list(self.languages) if self.languages else None, emotion=self.emotion,
                             brands=self.brands, embed=self.embed, examples=self.examples,
                             examples_kind=self.examples_kind, activities=self.activities)


_CODERS: dict[str, Any] = {}      # per worker process: coders built once per spec


def code_partition(spec: CoderSpec, texts: list[str], contexts: list[str], groups: list[str]):
    """Code one partition on a worker; the suggestions as an Arrow table (``row`` = position in it)."""
    import pyarrow as pa

    key = spec.key()
    chain = _CODERS.get(key)
    if chain is None:
        chain = _CODERS[key] = spec.build()
    coded = chain.code(texts, contexts, groups)
    cols: dict[str, list] = {c: [] for c in _COLUMNS}
    for dim, suggestions in coded.items():
        for i, s in enumerate(suggestions):
            if s is None:
                continue
            cols["row"].append(i)
            cols["dimension"].append(dim)
            cols["code_id"].append(s.code_id)
            cols["coder"].append(s.coder or chain.id)
            cols["confidence"].append(float(s.confidence))
            cols["rationale"].append(s.rationale)
            cols["value"].append(None if s.value is None else float(s.value))
    meta = {"dims": json.dumps(list(coded)), "coders": chain.id, "stage_model": chain.stage_model.name, "stage_model_yaml": to_yaml(chain.stage_model),
            "versions": json.dumps(chain.versions, sort_keys=True),
            "codebooks_yaml": json.dumps({d: to_yaml(cb) for d, cb in chain.codebooks.items()}, sort_keys=True,
                                         ensure_ascii=False)}
    return pa.table(cols).replace_schema_metadata(meta)


def partitions(sources: Sequence[str], size: int = PARTITION_EXCERPTS) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of at most about ``size`` rows that never split a source's run."""
    out, start = [], 0
    n = len(sources)
    while start < n:
        stop = min(n, start + size)
        while stop < n and sources[stop] == sources[stop - 1]:
            stop += 1
        out.append((start, stop))
        start = stop
    return out


def _client(scheduler: str | None, workers: int):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise WorkbenchError("--engine dask needs dask.distributed: pip install 'journey-workbench[scale]' (dask, distributed, pyarrow) "
                             "(scripts/setup.sh installs it).") from None
    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def code_study_dask(store: Store, spec: CoderSpec, scheduler: str | None = None, workers: int = 2,
                    roles: Sequence[str] = ("participant", "customer"), partition_size: int = PARTITION_EXCERPTS,
                    progress: bool = False, client=None) -> tuple[pd.DataFrame, int]:
    """:func:`~workbench.coding.run.code_study` with the coding on a Dask cluster; the same codings.

    ``client``: a :class:`distributed.Client` to use (and leave open) instead of connecting to
    ``scheduler`` or starting a LocalCluster of ``workers`` processes."""
    from tqdm.auto import tqdm

    from .coding.run import study_inputs

    ex = study_inputs(store, roles)
    ids = list(ex["excerpt_id"])
    texts, contexts, groups = list(ex["text"]), list(ex["context"]), list(ex["source_id"])
    parts = partitions(groups, partition_size)
    own = client is None
    client, cluster = _client(scheduler, workers) if own else (client, None)
    try:
        spec_f, spec_key = client.scatter(spec, broadcast=True), spec.key()
        futures = [client.submit(code_partition, spec_f, texts[a:b], contexts[a:b], groups[a:b], pure=False,
                                 retries=2, key=f"code-partition-{k}-{spec_key}")
                   for k, (a, b) in enumerate(parts)]
        stored, meta = 0, None
        with store.transaction(), tqdm(total=len(ids), desc="Coding", unit="excerpt", disable=not progress) as bar:
            for (a, b), fut in zip(parts, futures):      # written in study order, each partition once
                table = fut.result()
                meta = table.schema.metadata or meta
                stored += _write(store, table, ids[a:b])
                bar.update(b - a)
            if meta is None:        # no excerpt to code: the coders' settings still go with the study
                meta = code_partition(spec, [], [], []).schema.metadata
            m = {k.decode(): v.decode() for k, v in meta.items()}
            store.set_info({"coding.stage_model": m["stage_model"], "coding.stage_model_yaml": m["stage_model_yaml"],
                            "coding.codebooks": m["versions"], "coding.codebooks_yaml": m["codebooks_yaml"],
                            "coding.coders": m["coders"]})
            store.refresh_cards()
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return ex[["excerpt_id", "source_id"]], stored


def _write(store: Store, table, ids: list[str]) -> int:
    """One partition's suggestions, replacing every earlier machine suggestion of the dimensions coded."""
    d = table.to_pydict()
    dims = tuple(json.loads(table.schema.metadata[b"dims"]))
    codings = [Coding(ids[r], dim, code, coder, conf, why, value=value)       # in the order code_study stores them
               for r, dim, code, coder, conf, why, value in zip(d["row"], d["dimension"], d["code_id"], d["coder"],
                                                                d["confidence"], d["rationale"], d["value"])]
    return store.add_codings(codings, replace_dimensions=dims, excerpt_ids=ids)


__all__ = ["CoderSpec", "code_partition", "code_study_dask", "partitions", "PARTITION_EXCERPTS"]
