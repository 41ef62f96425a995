"""A call log too big for memory is refused by the size limit before it is read, with the way to raise it."""
from __future__ import annotations

import json
import os
import subprocess

from conftest import PY, ROOT, file_digest
from workbench.store import Store

# Runs the CLI and reports its own peak memory: a refusal must not have read the 2 GB. VmHWM, not
# ru_maxrss: on Linux ru_maxrss survives exec, so a child of a 1 GB pytest would report pytest's peak.
_RUN = """
import json, sys
from workbench.cli import main
code = main(sys.argv[1:])
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "peak_mb": hwm / 1024}))
"""


def test_a_2_gb_call_log_is_refused_unread_and_the_message_says_how_to_raise_the_limit(study, tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as fh:                       # sparse: 2 GB long, no disk used past the header
        fh.write(b"conversation_id,timestamp,role,text\nC1,2026-02-01T10:00:00,customer,my card never came\n")
        fh.truncate(2 * 1024 ** 3)
    with Store.open(study) as s:
        before = s.counts()
    digest = file_digest(study)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("WORKBENCH_MAX_FILE_MB", None)
    proc = subprocess.run([PY, "-c", _RUN, "ingest", str(big), "--study", str(study), "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] != 0
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "2048.0 MB" in proc.stderr and "200 MB limit" in proc.stderr
    assert "--max-file-mb" in proc.stderr and "WORKBENCH_MAX_FILE_MB" in proc.stderr
    assert result["peak_mb"] < 1024                   # the file was not read into memory
    with Store.open(study) as s:
        assert s.counts() == before
    assert file_digest(study) == digest
