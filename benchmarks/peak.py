"""Peak memory of the running process, measured so a child does not report its parent's peak.

``getrusage(RUSAGE_SELF).ru_maxrss`` survives ``exec`` on Linux: a process started by ``subprocess``
from a 1 GB parent reports at least 1 GB whatever it does itself (vfork/exec keeps the parent's
high-water mark). ``VmHWM`` in ``/proc/self/status`` belongs to the process's own address space and
starts again at ``exec``, so it is what every benchmark step prints. Elsewhere (macOS) the rusage
figure is the only one there is, and it is used.
"""
from __future__ import annotations

import resource
import sys


def self_peak_mb() -> float:
    """This process's own peak resident memory in MB (2**20 bytes)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024          # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2 ** 20 if sys.platform == "darwin" else rss / 1024


def workers_peak_mb() -> float:
    """The largest peak of the finished worker processes this one started and waited for (MB).

    Workers here are forked, not exec'd, so their figure is their own resident memory — which counts
    pages still shared with the parent after the fork.
    """
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return rss / 2 ** 20 if sys.platform == "darwin" else rss / 1024
