"""Coding on a Dask cluster (LocalCluster, 2 worker processes on 127.0.0.1): the same codings and the
same map as the single-process run, and a worker killed mid-run costs a retry, never a duplicate."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from conftest import CORPORA
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

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                     silence_logs=40)
    client = Client(c)
    yield c, client
    client.close()
    c.close()


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
    c, client = cluster
    path = _study(tmp_path / "study.db")
    killed = []

    def kill_a_busy_worker():
        deadline = time.time() + 60
        while time.time() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    t = threading.Thread(target=kill_a_busy_worker)
    t.start()
    with Store.open(path) as s:
        code_study_dask(s, CoderSpec(emotion="model"), client=client, partition_size=30)
    t.join()
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
