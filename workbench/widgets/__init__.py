"""Notebook panels (ipywidgets) over the same core the CLI uses.

    >>> from workbench.widgets import IngestPanel, CodebookPanel, ReviewPanel, MapExplorer, AgreementPanel, ChangesPanel

Each panel is a ``VBox`` to display, and every button has a method that does the same thing
without a browser (what the tests call). Needs the ``notebook`` extra (ipywidgets, anywidget).
"""
from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError("The notebook panels need ipywidgets: pip install 'journey-workbench[notebook]'.") from e

from .agreement import AgreementPanel
from .changes import ChangesPanel
from .codebook import CodebookPanel
from .explorer import MapExplorer
from .ingest import IngestPanel
from .review import ReviewPanel

__all__ = ["AgreementPanel", "ChangesPanel", "CodebookPanel", "IngestPanel", "MapExplorer", "ReviewPanel"]
