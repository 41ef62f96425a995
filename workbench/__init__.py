"""Journey Workbench: qualitative sources → coded excerpts → evidence-linked journey maps.

    >>> from workbench import Store, ingest_paths          # doctest: +SKIP
    >>> store = Store.create("study.db")                    # doctest: +SKIP
    >>> ingest_paths(store, ["corpora/interviews"])          # doctest: +SKIP
    >>> store.excerpts()                                    # doctest: +SKIP
"""
__version__ = "0.1.0"

from .errors import InputError, StoreError, WorkbenchError  # noqa: E402
from .model import Code, Codebook, Coding, Excerpt, Source, Turn  # noqa: E402
from .store import Store  # noqa: E402


def __getattr__(name: str):
    """``ingest_paths`` and ``segment_source`` load spaCy: imported on first use, not with the package."""
    if name in ("ingest_paths", "segment_source"):
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


__all__ = [
    "__version__", "Code", "Codebook", "Coding", "Excerpt", "Source", "Turn", "Store",
    "ingest_paths", "segment_source", "InputError", "StoreError", "WorkbenchError",
]
