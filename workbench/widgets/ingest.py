"""Ingest panel: pick or upload files, set kind and segment, preview turns, import with progress."""
from __future__ import annotations

import re
from pathlib import Path

import ipywidgets as w
import pandas as pd

from ..errors import WorkbenchError
from ..ingest import READERS, Metadata
from ..pipeline import ingest_paths, preview_paths
from ..store import ImportReport, Store
from ._common import STYLE, esc, message, table


class IngestPanel(w.VBox):
    """Files → preview (speakers, roles, languages) → import into a study: every file read first, so one bad file imports nothing.

    Headless use: ``panel.paths.value = "corpora/interviews"; panel.preview(); panel.import_files()``.
    """

    def __init__(self, study: str | Path, paths: str | Path | list = "", segment: str = "", metadata: str | Path = ""):
        self.study = Path(study)
        if isinstance(paths, (list, tuple)):
            paths = "; ".join(map(str, paths))
        self.paths = w.Text(value=str(paths), description="Files", placeholder="files or folders, separated by ';'",
                            layout=w.Layout(width="95%"), style={"description_width": "80px"})
        self.metadata = w.Text(value=str(metadata), description="Metadata", layout=w.Layout(width="95%"), style={"description_width": "80px"},
                               placeholder="optional sidecar CSV/YAML: file, participant, segment, channel, date, language")
        self.upload = w.FileUpload(multiple=True, description="Upload files")
        self.kind = w.Dropdown(options=[("detect from the file", "")] + [(k, k) for k in sorted(READERS)],
                               description="Kind", style={"description_width": "80px"})
        self.segment = w.Text(value=segment, description="Segment", placeholder="persona / segment for all sources",
                              style={"description_width": "80px"})
        self.participant = w.Text(description="Participant", placeholder="(from the data)", style={"description_width": "80px"})
        self.channel = w.Text(description="Channel", placeholder="(from the data)", style={"description_width": "80px"})
        self.preview_button = w.Button(description="Preview", icon="eye", tooltip="Read the files without storing them")
        self.import_button = w.Button(description="Import", icon="download", button_style="primary",
                                      tooltip="Store the files in the study (one transaction per file)")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Import", layout=w.Layout(width="50%"),
                                      style={"description_width": "80px"})
        self.status = w.HTML()
        self.table = w.HTML()
        self.preview_button.on_click(lambda _: self._safe(self.preview))
        self.import_button.on_click(lambda _: self._safe(self.import_files))
        super().__init__([w.HTML(STYLE + f"<b>Ingest</b> into <code>{esc(self.study.name)}</code>"), self.paths, self.metadata,
                          w.HBox([self.upload, self.kind]), w.HBox([self.segment, self.participant, self.channel]),
                          w.HBox([self.preview_button, self.import_button]), self.progress, self.status, self.table])
        self.add_class("wb-ingest")

    def _safe(self, action) -> None:
        try:
            action()
        except WorkbenchError as e:
            self.status.value = message("error", str(e))

    def _flags(self) -> dict:
        return {"segment": self.segment.value.strip() or None, "participant": self.participant.value.strip() or None,
                "channel": self.channel.value.strip() or None}

    def _metadata(self) -> Metadata | None:
        path = self.metadata.value.strip()
        return Metadata.load(Path(path).expanduser()) if path else None

    def selected_paths(self) -> list[Path]:
        """The typed paths plus uploaded files (saved next to the study in ``uploads/``)."""
        out = [Path(p.strip()).expanduser() for p in self.paths.value.split(";") if p.strip()]
        if self.upload.value:
            folder = self.study.parent / "uploads"
            folder.mkdir(parents=True, exist_ok=True)
            for f in self.upload.value:
                name = re.sub(r"[^\w.\- ]+", "_", Path(f["name"]).name).strip() or "upload"
                target = folder / name
                target.write_bytes(bytes(f["content"]))
                out.append(target)
        missing = [p for p in out if not p.exists()]
        if missing:
            raise WorkbenchError(f"Not found: {missing[0]}. Type an existing file or folder, or upload the files.")
        if not out:
            raise WorkbenchError("Choose files first: type a file or folder path, or upload files.")
        return out

    def preview(self, max_turns: int = 60) -> pd.DataFrame:
        """The turns the import would store (first ``max_turns``), shown as a table; unreadable files listed."""
        turns, errors, notes = preview_paths(self.selected_paths(), kind=self.kind.value or None, flags=self._flags(),
                                      metadata=self._metadata(), max_turns=max_turns)
        langs = ", ".join(f"{k} {v}" for k, v in turns["language"].value_counts().items()) if len(turns) else "—"
        self.status.value = (message("info", f"{turns['source'].nunique()} sources, first {len(turns)} turns; "
                                             f"languages: {langs}. Nothing is stored until you press Import.")
                             + "".join(message("info", n) for n in notes) + "".join(message("error", e) for e in errors))
        self.table.value = table(turns, ["source", "turn", "speaker", "role", "language", "segment", "text"],
                                 max_rows=max_turns, caption="Preview")
        return turns

    def import_files(self) -> list[ImportReport]:
        """Import the selection as the CLI does: every file is read first, so one bad file imports nothing."""
        self.progress.value = 0

        def step(done: int, total: int) -> None:
            self.progress.max, self.progress.value = max(1, total), done

        try:
            with Store.open(self.study) if self.study.exists() else Store.create(self.study) as store:
                result = ingest_paths(store, self.selected_paths(), kind=self.kind.value or None, flags=self._flags(),
                                      metadata=self._metadata(), progress=False, on_progress=step)
                counts = store.counts()
        except WorkbenchError as e:
            self.status.value = message("error", f"{e} Nothing was imported.")
            return []
        done = sum(r.status == "imported" for r in result.reports)
        self.status.value = (message("ok", f"Imported {done} files, skipped {len(result.reports) - done} already in the "
                                           f"study. The study now holds {counts['sources']} sources and "
                                           f"{counts['excerpts']} excerpts.")
                             + "".join(message("info", n) for n in result.notes))
        return result.reports
