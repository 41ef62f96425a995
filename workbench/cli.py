"""``workbench`` — the command line. Every command is a thin wrapper over a headless function.

    workbench init study.db
    workbench ingest corpora/interviews --study study.db --meta corpora/metadata.csv
    workbench excerpts --study study.db --format csv > excerpts.csv
    workbench demo
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import InputError, WorkbenchError
from .ingest import READERS, CallLogColumns, Metadata, ReadOptions
from .store import Store

EXCERPT_COLUMNS = ["excerpt_id", "source_id", "source_name", "speaker", "role", "participant", "segment",
                   "channel", "language", "start", "end", "text"]


def _study(path: str) -> Store:
    return Store.open(path)


def cmd_init(args: argparse.Namespace) -> int:
    store = Store.create(args.study, name=args.name)
    try:
        if getattr(args, "redact", False):
            from .pipeline import enable_redaction
            enable_redaction(store)
    finally:
        store.close()
    note = " Every import into it is redacted (PII → placeholders)." if getattr(args, "redact", False) else ""
    print(f"Created study {args.study}.{note} Next: workbench ingest FILES --study {args.study}")
    return 0


def _read_options(args: argparse.Namespace) -> ReadOptions:
    return ReadOptions(
        encoding=args.encoding, max_file_mb=args.max_file_mb, interviewers=set(args.interviewer or []),
        columns=CallLogColumns(conversation=args.conversation_column, speaker=args.speaker_column,
                               role=args.role_column, text=args.text_column, timestamp=args.timestamp_column),
        layout=args.layout, delimiter=args.delimiter, redact=bool(getattr(args, "redact", False)))


def cmd_ingest(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    metadata = Metadata.load(Path(args.meta)) if args.meta else None
    flags = {"segment": args.segment, "participant": args.participant, "channel": args.channel,
             "language": args.language, "date": args.date}
    store = _study(args.study)
    try:
        from .nlp import SegmentSettings
        from .pipeline import ingest_paths
        workers = args.workers if args.workers is not None else (2 if args.engine == "dask" else 0)
        result = ingest_paths(store, paths, kind=args.kind, options=_read_options(args), metadata=metadata,
                              flags=flags, segment=SegmentSettings(pipeline=args.pipeline), skip_bad=args.skip_bad,
                              progress=None if not args.no_progress else False, workers=workers, engine=args.engine,
                              scheduler=args.scheduler)
    finally:
        store.close()
    for note in result.notes:
        print(f"note: {note}")
    for r in result.reports:
        print(r.message)
    if result.redacted:
        from .redact import summary_line
        if not args.redact:
            print("note: this study redacts PII, so this import was redacted too.")
        for name, counts in result.redactions:
            print(f"Redacted: {summary_line(counts)} in {name}")
    for e in result.errors:
        print(f"error: {e}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_sources(args: argparse.Namespace) -> int:
    with _study(args.study) as store:
        df = store.sources()
        from .pipeline import redaction_summary
        summary = redaction_summary(store)
    cols = ["source_id", "name", "kind", "language", "mixed_language", "participant", "segment", "channel", "n_chars"]
    if summary:     # a redacting study: what was redacted in each source
        from .redact import summary_line
        df["redacted"] = [summary_line(summary.get(sid, {}).get("counts", {})) for sid in df["source_id"]]
        cols.append("redacted")
    _emit(df[cols], args.format, args.out)
    return 0


def cmd_excerpts(args: argparse.Namespace) -> int:
    with _study(args.study) as store:
        df = store.excerpts()
    if args.role:
        df = df[df["role"].isin(args.role.split(","))]
    _emit(df[EXCERPT_COLUMNS], args.format, args.out)
    return 0


def _emit(df, fmt: str, out: str | None) -> None:
    if fmt == "table":
        text = df.to_string(index=False, max_colwidth=60) if len(df) else "(none)"
        _write(text + "\n", out)
    elif fmt == "csv":
        _write(df.to_csv(index=False, lineterminator="\n"), out)
    elif fmt == "jsonl":
        _write("".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in df.to_dict(orient="records")), out)


def _write(text: str, out: str | None) -> None:
    if out:
        from .files import atomic_write
        atomic_write(Path(out), text)
        print(f"Wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_codebooks(args: argparse.Namespace) -> int:
    import pandas as pd

    from .codebook import builtin_names, resolve

    if not args.codebook:
        rows = []
        for name in builtin_names():
            cb = resolve(name)
            rows.append({"codebook": name, "dimension": cb.dimension, "kind": cb.kind or "-", "version": cb.version,
                         "codes": len(cb.codes), "languages": ",".join(sorted({k for c in cb.codes for k in c.cues}))})
        _emit(pd.DataFrame(rows), "table", None)
        return 0
    if args.codebook == "import":
        return _import_codebooks(args)
    cb = resolve(args.codebook)  # validates: a broken file raises CodebookError with file and line
    rows = [{"id": c.code_id, "label": c.label, "order": c.order if c.order is not None else "",
             **({"family": c.attributes["family"], "valence": c.attributes["valence"]} if "family" in c.attributes else {}),
             "cues_en": len(c.cues.get("en", ())), "cues_es": len(c.cues.get("es", ()))} for c in cb.ordered]
    print(f"{cb.name} v{cb.version} ({cb.dimension}{', ' + cb.kind if cb.kind else ''}): {len(cb.codes)} codes, valid.")
    _emit(pd.DataFrame(rows), "table", None)
    return 0


EXAMPLE_COLUMNS_HELP = ("stage", "pain_point", "emotion_family", "sentiment", "touchpoint", "actor")


def _import_codebooks(args: argparse.Namespace) -> int:
    from .codebook import save_codebook
    from .refi_import import codebooks_from_qdc

    if not args.file or not args.out:
        raise InputError("Usage: workbench codebooks import FILE.qdc --out FOLDER (also takes a .qdpx project's code tree).")
    books, notes = codebooks_from_qdc(Path(args.file))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for dim, cb in books.items():
        target = out / f"{cb.name}.yaml"
        save_codebook(cb, target)
        print(f"{DIMENSION_LABEL.get(dim, dim)}: {len(cb.codes)} codes → {target}")
    for n in notes:
        print(f"note: {n}")
    return 0


DIMENSION_LABEL = {"stage": "stage model", "theme": "themes"}


def cmd_code(args: argparse.Namespace) -> int:
    from .coding.run import (DEFAULT_STAGE_MODEL, code_file, code_study, default_coder, read_examples, study_coverage_lines,
                             study_examples)

    languages = None if args.lang == "auto" else [args.lang]
    brands = [b for b in (args.mask or "").split(",") if b.strip()]
    examples = None
    if args.examples:
        if args.embed == "off":
            raise WorkbenchError("--examples teaches the embedding coder; drop --embed off.")
        examples = read_examples(Path(args.examples), args.text_column or "text", args.max_file_mb)

    def coder_for(stages, store=None, activities=None):
        ex, kind = examples, "examples"
        if store is not None and not args.no_learn and args.embed != "off" and examples is None:
            from .codebook import resolve

            ex, kind = study_examples(store, {c.code_id: c for c in resolve("emotions").codes}), "study"
        coder = default_coder(stages, languages, emotion=args.emotion, brands=brands, embed=args.embed, cache=store,
                              examples=ex, examples_kind=kind, progress=not args.no_progress, activities=activities)
        if getattr(args, "engine", "local") == "dask":      # what each worker builds the same coders from
            from .distributed import CoderSpec
            coder.spec = CoderSpec(stage_model=coder.stage_model, languages=tuple(languages) if languages else None,
                                   emotion=args.emotion, brands=tuple(brands), embed=args.embed, examples=ex,
                                   examples_kind=kind, activities=coder.codebooks.get("activity", activities))
        learner = next((c for c in coder.coders if hasattr(c, "skipped")), None)
        if ex and learner is not None:
            used = {d: len(v[1]) - learner.skipped.get(d, 0) for d, v in ex.items()}
            what = "the study's decisions" if kind == "study" else args.examples
            print(f"Learning from {what}: " + ", ".join(f"{d} {n}" for d, n in used.items() if n) + " examples.",
                  file=sys.stderr)
            for d, n in learner.skipped.items():
                print(f"note: {n} {d} example(s) carry codes the current codebooks do not have; they are not learnt from.",
                      file=sys.stderr)
        return coder

    if args.study:
        if args.input:
            raise WorkbenchError("Give either INPUT (a CSV/TSV/JSONL file) or --study, not both.")
        from .journey import study_codebooks, study_stage_model

        with _study(args.study) as store:
            # a re-run keeps the stage model (and its activities) the study was coded with; --codebook changes it
            kept = args.codebook is None and "coding.stage_model_yaml" in store.info()
            if kept:
                stages = study_stage_model(store)
                coder = coder_for(stages, store, study_codebooks(store, stage_model=stages)[0].get("activity"))
            else:
                coder = coder_for(args.codebook or DEFAULT_STAGE_MODEL, store)
            if args.engine == "dask":
                from .distributed import code_study_dask, projection
                costs: dict = {}
                coded, stored = code_study_dask(store, coder.spec, scheduler=args.scheduler, workers=args.workers,
                                                progress=not args.no_progress, stats=costs)
                if costs["worker_s"]:
                    n = costs["workers"]
                    print(f"Dask: {costs['partitions']} partitions on {n} workers in {costs['total_s']:.0f} s; per partition "
                          f"{sum(costs['worker_s']) / len(costs['worker_s']):.1f} s coding on a worker, "
                          f"{sum(costs['write_s']) / len(costs['write_s']):.2f} s writing here; cluster started in "
                          f"{costs['start_s']:.1f} s, coders built in {max(costs['build_s']):.1f} s, "
                          f"{costs['encode_texts']} texts encoded in {costs['encode_s']:.1f} s, study read in "
                          f"{costs['read_s']:.1f} s. "
                          "Projected from these: " + ", ".join(f"{k} workers {projection(costs, k):.0f} s"
                                                              for k in sorted({1, 2, 4, 8, 16, n})) + ".")
            else:
                coded, stored = code_study(store, coder, details=False)
            coverage = study_coverage_lines(store.info())
        how = "the study's own, kept; --codebook changes it" if kept else "--codebook" if args.codebook else "the default"
        print(f"Coded {len(coded)} excerpts with {coder.id}, stage model {coder.stage_model.name} ({how}); stored "
              f"{stored} suggested codings (excerpts a human already coded keep the human decision).")
        for line in coverage:
            print(line)
        return 0
    if args.engine != "local":
        raise WorkbenchError("--engine dask codes a study: give --study STUDY (a file is coded in batches here).")
    if not args.input or not args.out or not args.text_column:
        raise WorkbenchError("Usage: workbench code INPUT --text-column COL --out OUT.csv, or workbench code --study STUDY.")
    coder = coder_for(args.codebook or DEFAULT_STAGE_MODEL)
    n = code_file(coder, Path(args.input), Path(args.out), args.text_column, args.batch_size,
                  args.group_column, args.context_column, progress=not args.no_progress, max_file_mb=args.max_file_mb)
    print(f"Coded {n} rows with {coder.id} (stage model {coder.stage_model.name}) → {args.out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import time

    from .coding import emotion_model

    t0 = time.perf_counter()
    model = emotion_model.load()
    if model is None:
        return 1
    print(f"Emotion model {model.id} ready ({model.fingerprint}, cache {emotion_model.cache_dir()}) "
          f"in {time.perf_counter() - t0:.1f} s.")
    if args.embed != "off":
        from .coding.embed import encoder_loader, load_heads

        t0 = time.perf_counter()
        load_encoder = encoder_loader()
        enc = load_encoder(args.embed) if load_encoder else None
        if enc is None:
            print("The embedding coder is off until an encoder is installed (see the note above).")
            return 0
        heads = load_heads(enc, progress=not args.no_progress)
        print(f"Embedding coder heads ready ({enc.id}, {heads.fingerprint}) in {time.perf_counter() - t0:.1f} s.")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .coding.evaluation import evaluate_files, parse_columns, render, write_reports

    reports = evaluate_files(Path(args.gold), Path(args.pred), parse_columns(args.columns), key=args.key,
                             max_file_mb=args.max_file_mb)
    print(render(reports), end="")
    if args.out:
        write_reports(reports, Path(args.out))
        print(f"Wrote {args.out}/metrics.json and per-dimension CSVs.", file=sys.stderr)
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    from .coding.evaluation import agreement, render, write_reports

    from .decisions import human_coder

    coders = tuple(human_coder(c) for c in args.coders.split(",")) if args.coders else None
    if coders is not None and len(coders) != 2:
        raise WorkbenchError("--coders takes two names separated by a comma, e.g. --coders ana,luis.")
    with _study(args.study) as store:
        reports = agreement(store, coders, args.dimensions.split(",") if args.dimensions else None)
    print(render(reports), end="")
    if args.out:
        write_reports(reports, Path(args.out))
    return 0


def cmd_themes(args: argparse.Namespace) -> int:
    from .files import atomic_write_many
    from .report import csv_text
    from .tables import read_table
    from .themes import ThemeSettings, find_themes, study_table

    n_themes = None
    if str(args.n_themes).lower() != "auto":
        if not str(args.n_themes).isdigit() or int(args.n_themes) < 2:
            raise InputError(f"--n-themes must be a whole number of at least 2, or auto; got {args.n_themes!r}.")
        n_themes = int(args.n_themes)
    def words(value: str | None) -> tuple[str, ...]:
        return tuple(w.strip() for w in (value or "").split(",") if w.strip())

    settings = ThemeSettings(n_themes=n_themes, min_size=args.min_size, seed=args.seed, embedder=args.embedder,
                             brands=words(args.mask), keep=words(args.keep))
    if args.study:
        with _study(args.study) as store:
            table = study_table(store, args.dimension)
        text_column, ids = "text", table["excerpt_id"].tolist()
    else:
        if not args.input or not args.text_column:
            raise InputError("Give an INPUT file with --text-column, or --study STUDY.")
        source = read_table(Path(args.input), max_file_mb=args.max_file_mb)
        source.require(args.text_column)
        table = source.frame()
        text_column = args.text_column
        ids = table["id"].astype(str).tolist() if "id" in table.columns else [str(i) for i in range(len(table))]
    context = table["context"].tolist() if args.study and not args.no_context else None
    if args.engine == "dask":       # the cluster starts only for an embedder that runs on it (not tfidf)
        from .distributed import Cluster, dask_chooser

        with Cluster(args.scheduler, args.workers) as cluster:
            result = find_themes(table[text_column].tolist(), ids, settings, progress=not args.no_progress,
                                 context=context, choose=dask_chooser(cluster))
    else:
        result = find_themes(table[text_column].tolist(), ids, settings, progress=not args.no_progress, context=context)
    out = Path(args.out)
    table = table.assign(theme_id=result.assignments["theme_id"].to_numpy(),
                         theme_label=result.assignments["theme_label"].to_numpy())
    themes = result.themes.assign(quotes=result.themes["quotes"].map(" | ".join),
                                  quote_ids=result.themes["quote_ids"].map(";".join))
    files = {out.name: csv_text(table), f"{out.stem}.themes.csv": csv_text(themes)}
    if args.study:      # themes by stage and by segment (and by the codes the excerpts already have)
        for col in ("stage", "segment") + (("code",) if args.dimension else ()):
            by = result.by(table[col].fillna("").replace("", "(none)"), col)
            files[f"{out.stem}.by_{col}.csv"] = by.reset_index().to_csv(index=False, lineterminator="\n")
    atomic_write_many(out.parent, files)
    n_out = int((table["theme_id"] == -1).sum())
    print(f"{len(themes)} themes in {len(table)} texts ({n_out} outliers) with {result.embedder}, seed {args.seed}, "
          f"{result.seconds:.1f} s. Wrote {out} and {out.with_name(out.stem + '.themes.csv')}.")
    for r in result.themes.head(12).itertuples():
        print(f"  {r.theme_id:>3}  {r.size:>5}  {r.label}")
    if len(result.themes) > 12:
        print(f"  ... and {len(result.themes) - 12} smaller themes in {out.with_name(out.stem + '.themes.csv')}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from .journey import build_map, load_map_inputs
    from .report import write_report

    if args.segment and (args.compare or args.compare_by or args.bands):
        raise WorkbenchError("Give either --segment NAME or a comparison (--compare A,B / --compare-by ATTR), not both.")
    if args.compare and (args.compare_by or args.bands or args.waves):
        raise WorkbenchError("--compare A,B compares segments; for other attributes use --compare-by ATTR [--groups A,B].")
    if not args.out and not args.snapshot:
        raise WorkbenchError("Say where the map goes: --out FOLDER, and/or --snapshot NAME to store it in the study.")
    compare_by, groups = None, None
    if args.compare:
        groups = tuple(n.strip() for n in args.compare.split(",") if n.strip())
        if len(groups) < 2:
            raise WorkbenchError("--compare needs two or more segments, e.g. --compare small_business,young_professional")
        compare_by = "segment"
    elif args.compare_by or args.bands or args.waves:
        from .groups import parse_grouping
        compare_by = parse_grouping(args.compare_by, bands=args.bands, waves=args.waves).spec
        groups = tuple(n.strip() for n in args.groups.split(",") if n.strip()) if args.groups else None
    elif args.groups:
        raise WorkbenchError("--groups picks groups of a comparison: add --compare-by ATTR.")
    opts = dict(include_suggested=not args.accepted_only, seed=args.seed, label_language=args.label_language)
    with _study(args.study) as store:
        # the overall and group maps: one moment of the study
        inputs = load_map_inputs(store, args.stage_model, (compare_by,) if compare_by else ())
        main_map = build_map(inputs, segment=args.segment, compare_by=compare_by, groups=groups, **opts)
        from .comments import for_report
        from .snapshots import changes_since, goal_history
        comments = for_report(store)
        changes = None
        if args.since:
            if args.against:
                with _study(args.against) as other:
                    changes = changes_since(store, args.since, main_map, against=other, seed=args.seed)
            else:
                changes = changes_since(store, args.since, main_map, seed=args.seed)
        elif args.against:
            raise WorkbenchError("--against OTHER_STUDY goes with --since SNAPSHOT (a snapshot of the other study).")
        if args.snapshot:
            from .snapshots import save_snapshot
            save_snapshot(store, args.snapshot, main_map, replace=args.replace)
        goals = goal_history(store)
    thin = sum(c.thin for c in main_map.claims)
    print(f"Journey map of {len(main_map.evidence)} excerpts: {len(main_map.claims)} claims ({thin} thin), "
          f"stage model {main_map.stage_model}.")
    if main_map.groups:
        d = main_map.differences
        min_group = main_map.settings.get("min_group", 5)
        print(f"Compared by {main_map.group_by}: " + ", ".join(
            f"{m.name} ({m.n_participants} participant{'s' * (m.n_participants != 1)}"
            + (", thin" if m.n_participants < min_group else "") + ")" for m in main_map.groups)
              + f"; {len(d)} differences tested, {int(d['reliable'].sum()) if len(d) else 0} reliable (BH q < 0.05).")
        for r in d[d["reliable"].astype(bool)].head(8).itertuples() if len(d) else ():
            print(f"  {r.summary} (q = {r.q_value:.3f})")
    for note in main_map.notes:
        if "thin" in note or "compare" in note:
            print(f"note: {note}")
    if args.snapshot:
        print(f"Stored the map as snapshot {args.snapshot!r} in {args.study} "
              f"(compare with: workbench map diff --study {args.study} {args.snapshot} OTHER).")
    if changes is not None:
        _print_changes(changes.table, changes.before, changes.after)
    if args.out:
        files = write_report(main_map, Path(args.out), compare=main_map.groups, comments=comments, changes=changes,
                             goals=goals)
        print("Wrote " + ", ".join(sorted(files)) + f" to {args.out}")
    return 0


def _print_changes(d, before: str, after: str) -> None:
    from .snapshots import diff_summary

    n = diff_summary(d)
    print(f"What changed, {before} → {after}: {n['appeared']} claims appeared, {n['disappeared']} disappeared, "
          f"{n['grew']} grew, {n['shrank']} shrank; {n['reliable']} reliable change(s) "
          f"(of {int(d['p_value'].notna().sum())} tested, BH q < 0.05).")
    for r in d[d["reliable"].astype(bool)].head(15).itertuples():
        print(f"  reliable  {r.summary} (q = {r.q_value:.3f})")
    pains = d[(d["lane"] == "pain_points") & d["change"].isin(["grew", "appeared", "shrank", "disappeared"])
              & ~d["reliable"].astype(bool)]
    pains = pains.reindex(pains["difference"].abs().fillna(0).sort_values(ascending=False, kind="stable").index)
    for r in pains.head(5).itertuples():
        print(f"  pain {r.change:<11} {r.summary} (not reliable" + (f", q = {r.q_value:.2f})" if r.q_value == r.q_value else ")"))
    for r in d[d["kind"] == "curve"].itertuples():
        print(f"  curve  {r.summary}" + (f" (q = {r.q_value:.2f})" if r.q_value == r.q_value else ""))


def cmd_map_diff(args: argparse.Namespace) -> int:
    from .snapshots import diff_quotes, diff_snapshots, load_snapshot
    from .report_tracking import Changes, changes_page

    with _study(args.study) as store:
        if args.against:
            with _study(args.against) as other:
                before = load_snapshot(other, args.before)
                label_a = f"{args.before} ({Path(args.against).name})"
                stores = [store, other]
                after, label_b = _after(store, args)
                d = diff_snapshots(before, after, seed=args.seed)
                quotes = diff_quotes(d, *stores)
        else:
            before = load_snapshot(store, args.before)
            label_a = args.before
            after, label_b = _after(store, args)
            d = diff_snapshots(before, after, seed=args.seed)
            quotes = diff_quotes(d, store)
    _print_changes(d, label_a, label_b)
    if args.out:
        from .files import atomic_write_many
        from .report import csv_text
        out = Path(args.out)
        files = atomic_write_many(out, {"changes.csv": csv_text(d),
                                        "changes.html": changes_page(Changes(d, label_a, label_b, quotes))})
        print("Wrote " + ", ".join(sorted(files)) + f" to {out}")
    return 0


def _after(store, args):
    from .journey import build_map
    from .snapshots import load_snapshot, snapshot_body

    if args.after:
        return load_snapshot(store, args.after), args.after
    return snapshot_body(build_map(store, seed=args.seed)), "the current map"


def cmd_snapshots(args: argparse.Namespace) -> int:
    from .snapshots import list_snapshots

    with _study(args.study) as store:
        t = list_snapshots(store)
    if t.empty:
        print("No snapshots yet: store one with workbench map --study S --snapshot NAME.")
    else:
        print(t.to_string(index=False))
    return 0


def cmd_goals(args: argparse.Namespace) -> int:
    from .snapshots import add_goal, goal_history, list_goals

    with _study(args.study) as store:
        if args.goals_command == "add":
            gid = add_goal(store, args.name, args.stage, args.measure, args.better)
            print(f"Added goal {gid}: {args.name} ({args.stage}, {args.measure}, {args.better} is better). "
                  "Each snapshot (workbench map --snapshot NAME) measures it.")
            return 0
        goals, history = list_goals(store), goal_history(store)
    if goals.empty:
        print("No goals yet: workbench goals add --study S --name TEXT --stage STAGE --measure pain:CODE|metric:csat|valence")
        return 0
    print(goals[["goal_id", "name", "stage", "measure", "better"]].to_string(index=False))
    if len(history):
        print(history[["snapshot", "name", "value", "low", "high", "n"]].to_string(index=False))
    return 0


EXPORT_FORMATS = ("qdpx", "qdc", "xlsx", "csv", "md")


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    with _study(args.study) as store:
        if args.format == "qdpx":
            from .refi import export_qdpx
            written = [export_qdpx(store, out, accepted_only=args.accepted_only)]
        elif args.format == "qdc":
            from .refi import export_qdc
            written = [export_qdc(store, out)]
        elif args.format == "xlsx":
            from .exports import export_xlsx
            written = [export_xlsx(store, out, accepted_only=args.accepted_only)]
        elif args.format == "csv":
            from .exports import export_csv
            written = list(export_csv(store, out, accepted_only=args.accepted_only))
        else:
            from .exports import export_codebook_markdown
            written = [export_codebook_markdown(store, out)]
    print(f"Exported {args.study} as {args.format}" + (" (human decisions only)" if args.accepted_only else "") +
          ": " + ", ".join(str(p) for p in written))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .refi_import import import_qdpx

    path, study = Path(args.file), Path(args.study)
    created = not study.exists()
    if created:
        from .refi_import import open_archive
        project = open_archive(path).root.get("name")    # a bad file fails here, before a study exists
        store = Store.create(study, name=project or None)
    else:
        store = _study(args.study)
    try:
        summary = import_qdpx(store, path, redact=args.redact,
                              codebooks_out=Path(args.codebooks_out) if args.codebooks_out else None)
    except BaseException:
        store.close()
        if created:                 # a study this command created holds nothing of a failed import: remove it
            for p in (study, study.with_name(study.name + "-wal"), study.with_name(study.name + "-shm")):
                p.unlink(missing_ok=True)
        raise
    store.close()
    print(summary)
    if created:
        print(f"Created study {study}. Next: workbench code --study {study}, or workbench map --study {study}")
    return 0


def cmd_comments(args: argparse.Namespace) -> int:
    """``workbench comments add | list | import``: stakeholders' comments on map claims (see workbench.comments)."""
    from .comments import add_comment, import_comments, list_comments

    with _study(args.study) as store:
        if args.action == "add":
            text = " ".join(args.text)
            cid = add_comment(store, args.claim, text, args.author, excerpt_id=args.quote, origin="cli")
            on = f"quote {args.quote} of claim {args.claim}" if args.quote else f"claim {args.claim}"
            print(f"Comment {cid} by {' '.join(args.author.split())} on {on} stored in {args.study}.")
        elif args.action == "list":
            df = list_comments(store, args.claim)
            if args.csv:
                from .report import csv_text
                from .files import atomic_write
                atomic_write(Path(args.csv), csv_text(df))
                print(f"Wrote {len(df)} comment{'s' * (len(df) != 1)} to {args.csv}", file=sys.stderr)
            elif not len(df):
                print("(no comments" + (f" on {args.claim})" if args.claim else ")"))
            else:
                for r in df.itertuples(index=False):
                    on = f"{r.claim_id} (quote {r.excerpt_id})" if r.excerpt_id else r.claim_id
                    print(f"{on} · {r.author} · {r.created} · {r.origin} · {r.comment_id}")
                    print("    " + "\n    ".join(str(r.text).splitlines() or [""]))
        else:
            print(import_comments(store, Path(args.file)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    summary = run_demo(Path(args.corpora) if args.corpora else None, Path(args.out), progress=not args.no_progress)
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Journey Workbench: qualitative sources → evidence-linked journey maps.")
    p.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("init", help="create a new, empty study database")
    s.add_argument("study", help="path of the study file to create, e.g. study.db")
    s.add_argument("--name", help="study name (default: the file name)")
    s.add_argument("--redact", action="store_true", help="redact PII in every import into this study (see ingest --redact)")
    s.set_defaults(fn=cmd_init)

    s = sub.add_parser("ingest", help="import transcripts, subtitles, Word files, call logs or usability notes")
    s.add_argument("paths", nargs="+", help="files or folders (folders are searched recursively)")
    s.add_argument("--study", required=True, help="the study database (create it with `workbench init`)")
    s.add_argument("--kind", help=f"reader to use instead of guessing from the extension: {', '.join(sorted(READERS))}")
    s.add_argument("--meta", help="sidecar metadata (CSV or YAML): file, participant, segment, channel, date, language, interviewers")
    s.add_argument("--segment", help="persona/segment for every source in this import (overrides the data)")
    s.add_argument("--participant", help="participant id for every source in this import")
    s.add_argument("--channel", help="channel for every source in this import (phone, chat, in person…)")
    s.add_argument("--language", help="declare the language (e.g. en, es) instead of detecting it")
    s.add_argument("--date", help="date of the sessions (YYYY-MM-DD)")
    s.add_argument("--interviewer", action="append", help="a speaker name who is an interviewer (repeatable)")
    s.add_argument("--encoding", help="text encoding if detection gets it wrong (utf-8, utf-16, cp1252, latin-1…)")
    s.add_argument("--max-file-mb", type=float, default=None, help="refuse files larger than this (default 200, or $WORKBENCH_MAX_FILE_MB)")
    s.add_argument("--text-column", help="call logs: column with the utterance text")
    s.add_argument("--conversation-column", help="call logs: column with the conversation/call/ticket id")
    s.add_argument("--speaker-column", help="call logs: column with the speaker name")
    s.add_argument("--role-column", help="call logs: column with the speaker role (agent/customer/bot)")
    s.add_argument("--timestamp-column", help="call logs: column with the utterance time")
    s.add_argument("--layout", choices=("auto", "utterance", "call"), default="auto",
                   help="call logs: one row per utterance or one row per call (default: auto)")
    s.add_argument("--delimiter", help="CSV delimiter if not detected (e.g. ';')")
    s.add_argument("--pipeline", default="auto", help="spaCy pipeline for sentences: auto (trained if installed), blank, or a package name")
    s.add_argument("--skip-bad", action="store_true", help="import the readable files and report the others (default: import nothing if any file is bad)")
    s.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    s.add_argument("--redact", action="store_true",
                   help="replace e-mails, phones, cards, IBANs, IDs, token URLs, addresses and names by placeholders "
                        "([EMAIL], [PERSON_3]) before storing; the study then redacts every later import")
    s.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="prepare the sources (languages, sentences) here (default) or on a Dask cluster (one writer: "
                        "this process; the same study)")
    s.add_argument("--scheduler", help="with --engine dask: a scheduler address (default: a LocalCluster on 127.0.0.1)")
    s.add_argument("--workers", type=int, default=None,
                   help="worker processes: with --engine dask and no --scheduler, the LocalCluster's (default 2); "
                        "else the pool that prepares big files (default: one per core)")
    s.set_defaults(fn=cmd_ingest)

    for name, fn, helptext in (("sources", cmd_sources, "list the study's sources"),
                               ("excerpts", cmd_excerpts, "export the study's excerpts with offsets")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--study", required=True)
        s.add_argument("--format", choices=("table", "csv", "jsonl"), default="table" if name == "sources" else "csv")
        s.add_argument("--out", help="write to this file instead of standard output")
        if name == "excerpts":
            s.add_argument("--role", help="only these roles, comma-separated (e.g. participant,customer)")
        s.set_defaults(fn=fn)

    s = sub.add_parser("codebooks", help="list the shipped codebooks, or show and validate one (name or YAML file)")
    s.add_argument("codebook", nargs="?", help="a shipped codebook name (e.g. pain_points) or a path to your YAML file; "
                                               "'import FILE.qdc --out FOLDER' turns a REFI-QDA codebook into YAML")
    s.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    s.add_argument("--out", help="with import: the folder for the YAML codebooks")
    s.set_defaults(fn=cmd_codebooks)

    s = sub.add_parser("code", help="code texts (CSV/TSV/JSONL) or a study's excerpts: stage, pain point, emotion, sentiment…")
    s.add_argument("input", nargs="?", help="CSV, TSV or JSONL file with a text column")
    s.add_argument("--text-column", help="the column with the text to code")
    s.add_argument("--out", help="output CSV: every input column, then the codes")
    s.add_argument("--study", help="code the customer-voice excerpts of this study instead (stored as suggestions)")
    s.add_argument("--codebook", help="stage model: a shipped name or your YAML file (default: on a study, the one it "
                                      "was coded with; else awareness_advocacy)")
    s.add_argument("--lang", choices=("auto", "en", "es"), default="auto", help="cue languages to use (default: both)")
    s.add_argument("--batch-size", type=int, default=2000, help="rows per batch (memory stays constant)")
    s.add_argument("--group-column", help="rows of one conversation/interview, in order: stages are smoothed along it")
    s.add_argument("--context-column", help="a column with the preceding question or turn, used as stage context")
    s.add_argument("--emotion", choices=("model", "lexicon"), default="model",
                   help="emotion coder: the offline GoEmotions model (default; lexicon if scikit-learn is missing) or the lexicon")
    s.add_argument("--embed", choices=("auto", "e5", "e5-nano", "minilm", "off"), default="auto",
                   help="embedding coder's encoder (default auto: multilingual-e5-small; off: rules and emotion model only)")
    s.add_argument("--examples", help="labelled examples to learn from (CSV/TSV/JSONL): the text column (or 'text') and "
                                      "any of " + ", ".join(EXAMPLE_COLUMNS_HELP) + "; blank = not labelled")
    s.add_argument("--no-learn", action="store_true",
                   help="on a study: do not learn from the researcher's decisions (default: accepted and recoded codings "
                        "teach the embedding coder before it re-suggests the undecided excerpts)")
    s.add_argument("--max-file-mb", type=float, default=None, help="refuse files larger than this (default 200, or $WORKBENCH_MAX_FILE_MB)")
    s.add_argument("--mask", help="brand names to hide before emotion scoring, comma-separated (@handles and URLs always are)")
    s.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="with --study: code here (default) or on a Dask cluster (one writer: this process)")
    s.add_argument("--scheduler", help="with --engine dask: a scheduler address (default: a LocalCluster on 127.0.0.1)")
    s.add_argument("--workers", type=int, default=2, help="with --engine dask and no --scheduler: worker processes")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(fn=cmd_code)

    s = sub.add_parser("train", help="train (or load) the offline models: the emotion model (GoEmotions) and the "
                                     "embedding coder's heads (the shipped labelled data, DATA.md)")
    s.add_argument("--embed", choices=("auto", "e5", "e5-nano", "minilm", "off"), default="auto",
                   help="encoder whose heads to train (default auto; off: the emotion model only)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("evaluate", help="compare predicted codes with gold codes: F1, macro-F1, kappa, alpha, confusion")
    s.add_argument("--gold", required=True, help="CSV/TSV/JSONL with the gold labels")
    s.add_argument("--pred", required=True, help="CSV/TSV/JSONL with the predicted labels")
    s.add_argument("--columns", required=True, help="columns to compare, e.g. stage,pain_point or gold_col=pred_col")
    s.add_argument("--max-file-mb", type=float, default=None, help="refuse files larger than this (default 200, or $WORKBENCH_MAX_FILE_MB)")
    s.add_argument("--key", default="excerpt_id", help="column that matches rows (default excerpt_id; else row order)")
    s.add_argument("--out", help="folder for metrics.json, per-class and confusion CSVs")
    s.set_defaults(fn=cmd_evaluate)

    s = sub.add_parser("agreement", help="agreement between two human coders in a study (kappa, alpha, disagreements)")
    s.add_argument("--study", required=True)
    s.add_argument("--coders", help="two coder names, e.g. ana,luis (default: the two who coded most)")
    s.add_argument("--dimensions", help="only these dimensions, comma-separated")
    s.add_argument("--out", help="folder for metrics.json, per-class and confusion CSVs")
    s.set_defaults(fn=cmd_agreement)

    s = sub.add_parser("map", help="journey map + offline HTML report (claims linked to quotes), PNG/SVG, CSVs")
    s.add_argument("--study", required=True)
    s.add_argument("--stage-model", help="stage model name or YAML (default: the one the study was coded with)")
    s.add_argument("--segment", help="one persona/segment (default: all)")
    s.add_argument("--compare", help="two or more segments to compare, comma-separated (= --compare-by segment --groups A,B)")
    s.add_argument("--compare-by", help="compare groups of sources by any attribute: a column (outcome, channel, "
                                        "segment, date, agent_team, ...), or a threshold such as 'csat<=2'")
    s.add_argument("--groups", help="with --compare-by: the values to compare, comma-separated (default: all)")
    s.add_argument("--bands", help="numeric bands to compare, e.g. csat:1-2,3,4-5 (inclusive)")
    s.add_argument("--waves", help="with --compare-by DATE: date waves, e.g. 2026-02,2026-03 or 2026-02-01..2026-02-15")
    s.add_argument("--accepted-only", action="store_true", help="only human-accepted codings (default: suggested too, flagged)")
    s.add_argument("--seed", type=int, default=0, help="seed for the bootstrap intervals (default 0)")
    s.add_argument("--label-language", help="label stages and codes in this language where the codebooks have "
                                            "labels in it, e.g. ro or es (default: the codebooks' own labels)")
    s.add_argument("--snapshot", help="store this map in the study under NAME, for `workbench map diff`")
    s.add_argument("--since", help="add 'What changed' since this snapshot to the report (and changes.csv)")
    s.add_argument("--against", help="with --since: the snapshot is of this other study (same stage model)")
    s.add_argument("--replace", action="store_true", help="with --snapshot: replace a snapshot of that name")
    s.add_argument("--out", help="output folder for the report (optional with --snapshot)")
    s.set_defaults(fn=cmd_map)

    s = sub.add_parser("map-diff", help="what changed between two map snapshots (also: workbench map diff)")
    s.add_argument("--study", required=True)
    s.add_argument("before", help="the earlier snapshot (of --against when given)")
    s.add_argument("after", nargs="?", help="the later snapshot (default: the study's current map)")
    s.add_argument("--against", help="the study BEFORE is a snapshot of (before and after a redesign)")
    s.add_argument("--seed", type=int, default=0, help="seed for the bootstrap intervals (default 0)")
    s.add_argument("--out", help="folder for changes.csv and changes.html")
    s.set_defaults(fn=cmd_map_diff)

    s = sub.add_parser("snapshots", help="the map snapshots stored in a study")
    s.add_argument("--study", required=True)
    s.set_defaults(fn=cmd_snapshots)

    s = sub.add_parser("goals", help="goals tied to a stage and a measure, measured in every snapshot")
    gsub = s.add_subparsers(dest="goals_command", required=True)
    g = gsub.add_parser("add", help="add a goal")
    g.add_argument("--study", required=True)
    g.add_argument("--name", required=True, help="e.g. 'Fewer repeat contacts in onboarding'")
    g.add_argument("--stage", required=True)
    g.add_argument("--measure", required=True, help="pain:CODE (share of the stage's excerpts), metric:csat|ces|nps, "
                                                   "or valence")
    g.add_argument("--better", choices=("lower", "higher"), default="lower", help="which way is better (default lower)")
    g.set_defaults(fn=cmd_goals)
    g = gsub.add_parser("list", help="the goals and their measures across snapshots")
    g.add_argument("--study", required=True)
    g.set_defaults(fn=cmd_goals)

    s = sub.add_parser("export", help="the study for other tools: a REFI-QDA project (qdpx) or codebook (qdc), a "
                                      "workbook (xlsx), CSV tables (a folder) or the codebooks as Markdown (md)")
    s.add_argument("--study", required=True)
    s.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    s.add_argument("--out", required=True, help="output file (csv: a folder)")
    s.add_argument("--accepted-only", action="store_true", help="only human decisions (default: machine suggestions too)")
    s.set_defaults(fn=cmd_export)

    s = sub.add_parser("import", help="import a REFI-QDA project (.qdpx from ATLAS.ti, NVivo, MAXQDA, QualCoder or "
                                      "this workbench): texts, codes, codings, memos, cases")
    s.add_argument("file", help="the .qdpx (or a bare .qde)")
    s.add_argument("--study", required=True, help="the study to import into (created when it does not exist)")
    s.add_argument("--redact", action="store_true", help="replace PII in the texts and memos by placeholders "
                                                         "(a redacting study always does)")
    s.add_argument("--codebooks-out", help="also write the imported code tree as YAML codebooks into this folder")
    s.set_defaults(fn=cmd_import)

    s = sub.add_parser("comments", help="stakeholders' comments on map claims: add, list, or import the JSON a "
                                        "report downloads")
    csub = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = csub.add_parser("add", help="add a comment on a claim (or one of its quotes)")
    c.add_argument("--study", required=True)
    c.add_argument("--claim", required=True, help="the claim's id, e.g. service.pain_points.waiting (claims.csv lists them)")
    c.add_argument("--quote", help="the excerpt id of the quote the comment is on (default: the whole claim)")
    c.add_argument("--author", required=True, help="who wrote the comment")
    c.add_argument("text", nargs="+", help="the comment")
    c.set_defaults(fn=cmd_comments)
    c = csub.add_parser("list", help="list the study's comments, by claim, then time")
    c.add_argument("--study", required=True)
    c.add_argument("--claim", help="only this claim's comments")
    c.add_argument("--csv", help="write them to this CSV file instead")
    c.set_defaults(fn=cmd_comments)
    c = csub.add_parser("import", help="import the comments.json a report's \"Download comments (JSON)\" saved "
                                       "(all or nothing)")
    c.add_argument("file", help="the comments file (comments.json)")
    c.add_argument("--study", required=True)
    c.set_defaults(fn=cmd_comments)

    s = sub.add_parser("themes", help="discover themes (BERTopic, offline embeddings) in a table of texts or a study")
    s.add_argument("input", nargs="?", help="CSV/TSV/JSONL file (or use --study)")
    s.add_argument("--text-column", help="column holding the text")
    s.add_argument("--study", help="run on the study's customer excerpts instead of a file")
    s.add_argument("--dimension", help="with --study: only excerpts coded in this dimension, e.g. pain_point")
    s.add_argument("--out", required=True, help="OUT.csv: the input plus theme_id and theme_label; OUT.themes.csv lists themes")
    s.add_argument("--n-themes", default="auto", help="number of themes, or auto (default)")
    s.add_argument("--min-size", type=int, default=10, help="smallest theme, in texts (default 10)")
    s.add_argument("--max-file-mb", type=float, default=None, help="refuse files larger than this (default 200, or $WORKBENCH_MAX_FILE_MB)")
    s.add_argument("--embedder", default="auto", choices=["auto", "minilm", "e5", "tfidf"])
    s.add_argument("--mask", help="names to hide besides those found (@handles, steady capitals, rare words), comma-separated")
    s.add_argument("--keep", help="words never hidden though written like names, comma-separated (e.g. Late,Cancelled)")
    s.add_argument("--no-context", action="store_true",
                   help="with --study: embed each excerpt alone, not with the turn before it (the question it answers)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="embed here (default) or on a Dask cluster (e5, minilm; tfidf is fitted on all texts and runs here)")
    s.add_argument("--scheduler", help="with --engine dask: a scheduler address (default: a LocalCluster on 127.0.0.1)")
    s.add_argument("--workers", type=int, default=2, help="with --engine dask and no --scheduler: worker processes")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(fn=cmd_themes)

    s = sub.add_parser("demo", help="run the whole pipeline on the bundled sample corpora into out/demo/")
    s.add_argument("--corpora", help="folder with the sample corpora (default: ./corpora)")
    s.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(fn=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["map", "diff"]:          # `workbench map diff` is the map-diff command
        argv = ["map-diff", *argv[2:]]
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted: nothing from the unfinished file was stored.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
