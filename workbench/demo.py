"""``workbench demo``: the main job on the bundled sample corpora, end to end.

Ingest (every reader) → segment → code (the study's own stage model, the offline emotion model
when trained) → journey map and report (``out/demo/report/``) → the report notebook, executed
with papermill when it is installed. The demo study is rebuilt from scratch on every run into a
temporary file that replaces the old one only when complete.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import InputError
from .files import atomic_write, atomic_write_many, temp_path
from .ingest import Metadata
from .pipeline import ingest_paths
from .store import Store

PARTS = ("interviews", "call_logs", "usability")


def find_corpora(explicit: Path | None = None) -> Path:
    candidates = [explicit] if explicit else list(dict.fromkeys(
        [Path.cwd() / "corpora", Path(__file__).resolve().parent.parent / "corpora"]))
    for c in candidates:
        if c and all((c / p).is_dir() for p in PARTS):
            return c
    raise InputError(f"Cannot find the sample corpora (looked in {', '.join(str(c) for c in candidates if c)}). "
                     "Run the demo from the repository root, or pass --corpora DIR.")


def summarise(store: Store) -> dict:
    src = store.sources()
    ex = store.excerpts()
    voice = ex[ex["role"].isin(["participant", "customer"])]
    return {
        "study": store.info().get("name"),
        "counts": store.counts(),
        "sources_by_kind": src["kind"].value_counts().sort_index().to_dict(),
        "sources_by_language": src["language"].value_counts().sort_index().to_dict(),
        "mixed_language_sources": sorted(src.loc[src["mixed_language"], "name"].tolist()),
        "sources_by_segment": src["segment"].fillna("(none)").value_counts().sort_index().to_dict(),
        "excerpts_by_role": ex["role"].value_counts().sort_index().to_dict(),
        "excerpts_by_language": ex["language"].value_counts().sort_index().to_dict(),
        "customer_voice_excerpts": int(len(voice)),
        "call_log_conversations": int((src["kind"] == "call_log").sum()),
    }


def render(summary: dict, out: Path) -> str:
    c = summary["counts"]
    lines = [
        f"# Demo study: {summary['study']}",
        "",
        f"{c['sources']} sources from {c['imports']} files; {c['turns']} speaker turns; {c['excerpts']} excerpts "
        f"({summary['customer_voice_excerpts']} in the customer's or participant's own words).",
        "",
        "| sources by kind | n |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["sources_by_kind"].items()],
        "",
        "| sources by segment | n |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["sources_by_segment"].items()],
        "",
        "| excerpts by language | n |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["excerpts_by_language"].items()],
        "",
        "| excerpts by role | n |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["excerpts_by_role"].items()],
        "",
        "Mixed-language sources: " + (", ".join(summary["mixed_language_sources"]) or "none"),
        "",
        f"Files: {out / 'study.db'} (the study), {out / 'excerpts.csv'} (every excerpt with offsets), "
        f"{out / 'summary.json'}.",
    ]
    return "\n".join(lines) + "\n"


def code_demo(store: Store, corpora: Path) -> dict:
    from .coding.run import code_study, default_coder

    coder = default_coder(str(corpora / "codebooks" / "horizonte_retail.yaml"), emotion="model", embed="auto", cache=store)
    coded, stored = code_study(store, coder, details=False)
    return {"excerpts": int(len(coded)), "codings": int(stored), "coders": [c.id for c in coder.coders]}


def write_demo_report(study: Path, out: Path) -> str:
    from .comments import for_report
    from .journey import build_map, load_map_inputs
    from .report import write_report

    with Store.open(study) as store:
        segments = sorted(store.excerpts()["segment"].dropna().unique())
        inputs = load_map_inputs(store)
        comments = for_report(store)
    main = build_map(inputs)
    compare = [build_map(inputs, segment=s) for s in segments] if len(segments) > 1 else []
    write_report(main, out, compare=compare, comments=comments)
    return (f"Journey map: {len(main.claims)} claims from {len(main.evidence)} excerpts; report {out / 'report.html'} "
            f"(segments compared: {', '.join(segments) or 'none'}).")


def run_notebook(study: Path, out: Path) -> str:
    """Execute notebooks/report.ipynb with papermill for the demo study (if papermill is installed)."""
    nb = Path(__file__).resolve().parent.parent / "notebooks" / "report.ipynb"
    try:
        import papermill
    except ImportError:
        return "Report notebook skipped: papermill is not installed (pip install -e '.[notebook]')."
    if not nb.exists():
        return f"Report notebook skipped: {nb} not found (it ships with the repository, not the package)."
    papermill.execute_notebook(str(nb), str(out), parameters={"study": str(study.resolve()), "stage_model": "",
                                                               "segment": ""}, progress_bar=False, cwd=str(nb.parent))
    return f"Report notebook executed: {out}"


def run_demo(corpora: Path | None, out: Path, progress: bool = True, notebook: bool = True) -> str:
    corpora = find_corpora(corpora)
    out.mkdir(parents=True, exist_ok=True)
    final = out / "study.db"
    tmp = temp_path(final)          # the study is built beside the old one and replaces it when complete
    try:
        with Store.create(tmp, name="Horizonte current account (sample corpora)") as store:
            meta_path = corpora / "metadata.csv"
            metadata = Metadata.load(meta_path) if meta_path.exists() else None
            result = ingest_paths(store, [corpora / p for p in PARTS], metadata=metadata, progress=progress)
            for r in result.reports:
                if r.status != "imported":
                    raise InputError(r.message)
            excerpts = store.excerpts().to_csv(index=False, lineterminator="\n")
            coded = code_demo(store, corpora)
            summary = summarise(store)
            summary["coding"] = coded
        for suffix in ("-wal", "-shm"):
            Path(f"{final}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, final)
    finally:
        for f in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            f.unlink(missing_ok=True)
    atomic_write_many(out, {"excerpts.csv": excerpts,
                            "summary.json": json.dumps(summary, indent=2, sort_keys=True) + "\n"})
    text = render(summary, out)
    text += write_demo_report(final, out / "report") + "\n"
    if notebook:
        text += run_notebook(final, out / "report.ipynb") + "\n"
    atomic_write(out / "summary.md", text)
    return text


def sample_study(path: str | Path, corpora: Path | None = None, coded: bool = True, progress: bool = False) -> Path:
    """A study of the bundled corpora at ``path``: built when missing, coded when ``coded`` and not yet coded.

    What the notebooks start from; a study that exists is reused as it is (decisions kept).
    """
    path = Path(path)
    corpora = find_corpora(corpora)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with Store.create(path, name="Horizonte current account (sample corpora)") as store:
            meta_path = corpora / "metadata.csv"
            ingest_paths(store, [corpora / p for p in PARTS], progress=progress,
                         metadata=Metadata.load(meta_path) if meta_path.exists() else None)
    if coded:
        with Store.open(path) as store:
            if store.counts()["codings"] == 0:
                code_demo(store, corpora)
    return path
