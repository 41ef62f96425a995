"""REFI-QDA exchange: a study as a ``.qdpx`` project, a codebook as a ``.qdc`` file.

    >>> export_qdpx(store, Path("study.qdpx"))                     # doctest: +SKIP

The REFI-QDA standard (QDA-XML 1.0, www.qdasoftware.org, MIT) is what ATLAS.ti, NVivo, MAXQDA and
QualCoder exchange. A ``.qdpx`` is a zip of ``project.qde`` (XML, namespace
``urn:QDA-XML:project:1.0``) and ``sources/<GUID>.txt``. What goes in:

* **sources** — each source's stored (normalised) text as UTF-8 ``.txt``; every effective coding
  as a ``PlainTextSelection`` of its excerpt: ``startPosition``/``endPosition`` count Unicode code
  points into that text, as the standard says (not UTF-16 units, not bytes), so a selection over
  "¿Qué tal? 👍" selects the same characters in every tool;
* **codebook** — one parent code per dimension (stage, pain point, emotion…) holding the codes of
  the codebooks the study was coded with, definitions as descriptions, a colour per dimension;
* **users** — every coder: people as themselves (``human:ana`` → "ana"), machine coders by their
  versioned id ("rules@2 (machine)"), so another tool's user list says who coded what;
* **notes** — each coding's memo, linked from its coding; machine provenance (coder, confidence,
  rationale) in the selection's description; each stakeholder comment on a map claim (``workbench
  comments``) as a note by its author (a user), its text starting ``[comment on <claim_id>]``, with its
  time; a comment on a quote is also linked from that quote's selection (one is added, without codings,
  when the quote has none). A claim is not a REFI-QDA object, so a comment on a whole claim is a project note;
* **cases and variables** — one case per participant (a call-log conversation is one) with the
  sources' metadata (segment, channel, date, language, CSAT/NPS/CES and the other metadata fields).

GUIDs are derived from the study's own ids (UUID 5), and nothing time-dependent is written: the
same study gives the same bytes. ``--accepted-only`` exports human decisions only. The project
validates against ``Project.xsd`` 1.0 and a codebook against ``Codebook.xsd`` (shipped in
``workbench/data/refi/``; the tests validate every export).
"""
from __future__ import annotations

import io
import json
import math
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

from . import __version__
from .decisions import effective_codings, is_human
from .files import atomic_write_many
from .model import Codebook
from .store import Store

NS = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "refi"
#: one colour per dimension (the code tree's top level), so imported codes are told apart at a glance
COLOURS = {"stage": "#3465A4", "pain_point": "#CC0000", "emotion": "#F57900", "touchpoint": "#4E9A06",
           "actor": "#75507B", "backstage": "#555753", "opportunity": "#C4A000", "activity": "#06989A",
           "thought": "#AD7FA8", "theme": "#8F5902"}
DIMENSION_NAMES = {"stage": "Stage", "pain_point": "Pain point", "emotion": "Emotion", "touchpoint": "Touchpoint",
                   "actor": "People / departments", "backstage": "Backstage process", "opportunity": "Opportunity",
                   "activity": "Activity", "thought": "Thought", "theme": "Theme"}
_FIXED = (1980, 1, 1, 0, 0, 0)           # zip entry dates: none of today's (reproducible bytes)


def _guid(study_key: str, kind: str, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"journey-workbench:{study_key}:{kind}:{key}"))


def _user_name(coder: str) -> str:
    return coder.split(":", 1)[1] if is_human(coder) else f"{coder} (machine)"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NS}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _missing(v) -> bool:
    """No value: None, "", or a NaN that pandas puts in an empty column (never exported as "nan")."""
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; a source's text is normalised without them, but
    a memo or a label may hold one."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def _xml_time(created: str) -> str | None:
    """A comment's stored UTC time as an ``xsd:dateTime`` (None if it is not one)."""
    from .comments import normalise_time
    from .errors import WorkbenchError
    try:
        return normalise_time(created)
    except WorkbenchError:
        return None


def study_code_tree(store: Store) -> list[tuple[str, Codebook]]:
    """(dimension, codebook) in export order: the stage model first, then the other dimensions."""
    from .journey import study_codebooks, study_stage_model
    from .errors import WorkbenchError

    try:
        stages = study_stage_model(store)
    except WorkbenchError:
        stages = None
    books, _ = study_codebooks(store, stage_model=stages)
    tree = [("stage", stages)] if stages is not None else []
    order = list(DIMENSION_NAMES)
    return tree + sorted(books.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def _parents_first(codes: list) -> list:
    """The codes in their order, each parent before its children (the tree nests children in parents)."""
    ids = {c.code_id for c in codes}
    out, done = [], set()

    def place(c, depth: int = 0) -> None:
        if c.code_id in done:
            return
        if c.parent in ids and c.parent not in done and depth < len(codes):
            place(next(k for k in codes if k.code_id == c.parent), depth + 1)
        done.add(c.code_id)
        out.append(c)

    for c in codes:
        place(c)
    return out


def _add_codes(parent: ET.Element, tree: list[tuple[str, Codebook]], key: str, extra: dict[str, set[str]]) -> dict:
    """The code tree under ``parent``; returns (dimension, code) → GUID. Codes a coding uses that no
    codebook has (an old study, a researcher's own) are added under their dimension, so nothing is lost."""
    guids: dict[tuple[str, str], str] = {}
    seen_dims = [d for d, _ in tree] + sorted(set(extra) - {d for d, _ in tree})
    books = dict(tree)
    for dim in seen_dims:
        cb = books.get(dim)
        top = _sub(parent, "Code", guid=_guid(key, "dimension", dim), name=DIMENSION_NAMES.get(dim, dim),
                   isCodable="false", color=COLOURS.get(dim, "#888A85"))
        if cb is not None and cb.description:
            _sub(top, "Description", _clean(cb.description.strip()))
        codes = (cb.ordered if cb is not None and cb.kind == "stage_model" else cb.codes) if cb is not None else []
        known = {c.code_id for c in codes}
        placed: dict[str, ET.Element] = {}
        for c in _parents_first(codes):
            g = guids[(dim, c.code_id)] = _guid(key, "code", f"{dim}:{c.code_id}")
            el = placed[c.code_id] = _sub(placed.get(c.parent, top), "Code", guid=g, name=c.label, isCodable="true",
                                          color=COLOURS.get(dim, "#888A85"))
            desc = f"{c.definition} [{dim}:{c.code_id}]"
            _sub(el, "Description", _clean(desc))
        for code in sorted(extra.get(dim, set()) - known):
            g = guids[(dim, code)] = _guid(key, "code", f"{dim}:{code}")
            el = _sub(top, "Code", guid=g, name=code, isCodable="true", color=COLOURS.get(dim, "#888A85"))
            _sub(el, "Description", f"(not in the study's codebooks) [{dim}:{code}]")
    return guids


def project_xml(store: Store, accepted_only: bool = False) -> tuple[bytes, dict[str, str]]:
    """``project.qde`` and the source texts (``sources/<GUID>.txt`` → text) of a study."""
    info = store.info()
    key = info.get("created_at", "") + "|" + info.get("name", store.path.stem)
    sources = store.sources(with_text=True)
    codings = store.codings()
    codings = codings[codings["status"] != "rejected"]
    eff = effective_codings(codings, include_suggested=not accepted_only)
    eff = eff[(eff["code_id"] != "none").to_numpy()] if len(eff) else eff
    ex = store.excerpts().set_index("excerpt_id")
    eff = eff[eff["excerpt_id"].isin(ex.index)]

    root = ET.Element(f"{{{NS}}}Project", {"name": info.get("name", store.path.stem),
                                          "origin": f"Journey Workbench {__version__}"})
    coders = sorted(set(eff["coder"])) if len(eff) else []
    from .comments import list_comments
    comments = list_comments(store)
    authors = sorted({f"human:{a}" for a in comments["author"]} - set(coders))     # a commenting coder is one user
    users = _sub(root, "Users") if coders or authors else None
    user_guid = {}
    for c in coders + authors:
        user_guid[c] = _guid(key, "user", c)
        _sub(users, "User", guid=user_guid[c], name=_user_name(c), id=c)
    tree = study_code_tree(store)
    used: dict[str, set[str]] = {}
    for dim, code in zip(eff["dimension"], eff["code_id"]):
        used.setdefault(dim, set()).add(code)
    codebook = _sub(root, "CodeBook")
    codes_el = _sub(codebook, "Codes")
    code_guid = _add_codes(codes_el, tree, key, used)

    # variables: the sources' metadata columns and meta JSON keys; a column with only numbers is Float
    meta = [json.loads(m) if m else {} for m in sources["meta"]]
    values: dict[str, list] = {}
    for col in ("segment", "channel", "date", "language", "kind"):
        values[col] = sources[col].tolist()
    for k in sorted({k for m in meta for k in m}):
        values[k] = [m.get(k) for m in meta]
    variables, var_type = {}, {}
    for name, vals in values.items():
        values[name] = vals = [None if _missing(v) else v for v in vals]
        present = [v for v in vals if v is not None]
        if not present:
            continue
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in present)
        variables[name] = _guid(key, "variable", name)
        var_type[name] = "Float" if numeric else "Text"
    if variables:
        vars_el = _sub(root, "Variables")
        for name, g in variables.items():
            _sub(vars_el, "Variable", guid=g, name=name, typeOfVariable=var_type[name])
    # cases: one per participant (a conversation without one is its own case)
    person = [p if isinstance(p, str) and p else sid for p, sid in zip(sources["participant"], sources["source_id"])]
    if len(sources):
        cases_el = _sub(root, "Cases")
        for p in sorted(set(person)):
            rows = [i for i, q in enumerate(person) if q == p]
            case = _sub(cases_el, "Case", guid=_guid(key, "case", p), name=p)
            first = rows[0]
            for name, g in variables.items():
                v = values[name][first]
                if v in (None, ""):
                    continue
                vv = _sub(case, "VariableValue")
                _sub(vv, "VariableRef", targetGUID=g)
                if var_type[name] == "Float":
                    _sub(vv, "FloatValue", format(Decimal(str(v)), "f"))
                else:
                    _sub(vv, "TextValue", _clean(str(v)))
            for i in rows:
                _sub(case, "SourceRef", targetGUID=_guid(key, "source", sources["source_id"].iat[i]))

    # sources with their selections; memos become notes
    texts: dict[str, str] = {}
    notes: list[tuple[str, str, str, str | None, str | None]] = []   # guid, name, text, user, time
    # a selection per excerpt, or per exact span for codings that carry one (imported selections
    # that are not one excerpt); a span over several excerpts is one selection, each coding once
    selections: dict[str, dict[tuple[int, int], list]] = {}
    if len(eff):
        has_span = (eff["start"].notna() & eff["end"].notna()).tolist()
        for r, spanned in zip(eff.itertuples(index=False), has_span):
            sid = ex.at[r.excerpt_id, "source_id"]
            if spanned:
                span, name = (int(r.start), int(r.end)), None
            else:
                span, name = (int(ex.at[r.excerpt_id, "start"]), int(ex.at[r.excerpt_id, "end"])), r.excerpt_id
            selections.setdefault(sid, {}).setdefault(span, []).append((name, r))
    # comments: a note each; one on a quote is linked from the quote's selection
    comment_notes: dict[str, list[str]] = {}           # excerpt id -> note GUIDs
    for r in comments.itertuples(index=False):
        ng = _guid(key, "comment", r.comment_id)
        on = f"{r.claim_id}, quote {r.excerpt_id}" if r.excerpt_id else r.claim_id
        notes.append((ng, f"Comment on {on} by {r.author}", f"[comment on {r.claim_id}] {r.text}",
                      user_guid[f"human:{r.author}"], _xml_time(r.created)))
        if r.excerpt_id and r.excerpt_id in ex.index:
            comment_notes.setdefault(r.excerpt_id, []).append(ng)
    linked: set[str] = set()
    if len(sources):
        src_el = _sub(root, "Sources")
        for row in sources.itertuples(index=False):
            g = _guid(key, "source", row.source_id)
            texts[f"sources/{g}.txt"] = row.text
            ts = _sub(src_el, "TextSource", guid=g, name=row.name, plainTextPath=f"internal://{g}.txt")
            for (start, end), items in sorted(selections.get(row.source_id, {}).items(),
                                              key=lambda kv: (kv[0], kv[1][0][0] or "")):
                names = sorted({n for n, _ in items if n is not None})
                seen, rows = set(), []
                for _, r in sorted(items, key=lambda x: (x[1].dimension, x[1].code_id, x[1].coder, x[1].coding_id)):
                    if (r.dimension, r.code_id, r.coder) not in seen:
                        seen.add((r.dimension, r.code_id, r.coder))
                        rows.append(r)
                if names:
                    sel_key, sel_name = names[0], names[0]
                else:
                    sel_key = f"{row.source_id}:{start}-{end}"
                    sel_name = f"{sorted(r.excerpt_id for _, r in items)[0]} [{start}:{end}]"
                first_coder = sorted(r.coder for r in rows)[0]
                sel = _sub(ts, "PlainTextSelection", guid=_guid(key, "selection", sel_key), name=sel_name,
                           startPosition=start, endPosition=end, creatingUser=user_guid[first_coder])
                machine = [f"{r.dimension}: {r.code_id} — {r.coder} ({float(r.confidence):.2f}): {r.rationale}"
                           for r in rows if not is_human(r.coder)]
                if machine:
                    _sub(sel, "Description", _clean("Machine suggestions, not yet reviewed:\n" + "\n".join(machine)))
                for r in rows:
                    cg = _guid(key, "coding", str(r.coding_id))
                    coding = _sub(sel, "Coding", guid=cg, creatingUser=user_guid[r.coder])
                    _sub(coding, "CodeRef", targetGUID=code_guid[(r.dimension, r.code_id)])
                    if r.memo:
                        ng = _guid(key, "note", str(r.coding_id))
                        notes.append((ng, f"Memo on {sel_name} ({r.dimension}: {r.code_id})", r.memo, user_guid[r.coder], None))
                        _sub(coding, "NoteRef", targetGUID=ng)
                if names and names[0] in comment_notes and names[0] not in linked:
                    linked.add(names[0])
                    for ng in comment_notes[names[0]]:
                        _sub(sel, "NoteRef", targetGUID=ng)
            # quotes with a comment but no coding here: a selection of their own carries the link
            for eid in sorted(e for e in comment_notes if e not in linked and ex.at[e, "source_id"] == row.source_id):
                linked.add(eid)
                sel = _sub(ts, "PlainTextSelection", guid=_guid(key, "selection", eid), name=eid,
                           startPosition=int(ex.at[eid, "start"]), endPosition=int(ex.at[eid, "end"]))
                for ng in comment_notes[eid]:
                    _sub(sel, "NoteRef", targetGUID=ng)
    from .refi_import import study_notes
    for i, n in enumerate(study_notes(info)):       # project notes another tool's project brought
        notes.append((_guid(key, "study-note", str(i)), n.get("name") or f"Note {i + 1}", n.get("text", ""), None, None))
    if notes:
        notes_el = _sub(root, "Notes")
        for ng, name, text, ug, when in notes:
            note = _sub(notes_el, "Note", guid=ng, name=_clean(name), creatingUser=ug, creationDateTime=when)   # None: not written
            _sub(note, "PlainTextContent", _clean(text))
    ET.register_namespace("", NS)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n", texts


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            zi = zipfile.ZipInfo(name, date_time=_FIXED)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, files[name])
    return buf.getvalue()


def export_qdpx(store: Store, out: Path, accepted_only: bool = False) -> Path:
    """Write the study as a REFI-QDA project (``.qdpx``), atomically."""
    out = Path(out)
    qde, texts = project_xml(store, accepted_only)
    data = _zip({"project.qde": qde, **{k: v.encode("utf-8") for k, v in texts.items()}})
    return atomic_write_many(out.parent, {out.name: data})[out.name]


def codebook_xml(tree: list[tuple[str, Codebook]], origin: str = f"Journey Workbench {__version__}") -> bytes:
    """A ``.qdc`` (``urn:QDA-XML:codebook:1.0``): one parent code per dimension, its codes below."""
    root = ET.Element(f"{{{NS_CODEBOOK}}}CodeBook", {"origin": origin})
    codes = ET.SubElement(root, f"{{{NS_CODEBOOK}}}Codes")
    key = "codebook:" + ",".join(f"{d}={cb.name}@{cb.version}" for d, cb in tree)
    for dim, cb in tree:
        top = ET.SubElement(codes, f"{{{NS_CODEBOOK}}}Code", {"guid": _guid(key, "dimension", dim),
                                                              "name": DIMENSION_NAMES.get(dim, dim), "isCodable": "false",
                                                              "color": COLOURS.get(dim, "#888A85")})
        if cb.description:
            ET.SubElement(top, f"{{{NS_CODEBOOK}}}Description").text = _clean(cb.description.strip())
        placed: dict[str, ET.Element] = {}
        for c in _parents_first(cb.ordered if cb.kind == "stage_model" else cb.codes):
            el = placed[c.code_id] = ET.SubElement(placed.get(c.parent, top), f"{{{NS_CODEBOOK}}}Code", {"guid": _guid(key, "code", f"{dim}:{c.code_id}"),
                                                               "name": c.label, "isCodable": "true",
                                                               "color": COLOURS.get(dim, "#888A85")})
            ET.SubElement(el, f"{{{NS_CODEBOOK}}}Description").text = _clean(f"{c.definition} [{dim}:{c.code_id}]")
    ET.register_namespace("", NS_CODEBOOK)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def export_qdc(store: Store, out: Path) -> Path:
    """Write the study's codebooks (the stage model and every coded dimension's) as one ``.qdc``."""
    out = Path(out)
    return atomic_write_many(out.parent, {out.name: codebook_xml(study_code_tree(store))})[out.name]


def validate(xml: bytes, schema: str = "Project.xsd") -> None:
    """Raise ``xmlschema.XMLSchemaValidationError`` unless ``xml`` is valid against the shipped schema."""
    import xmlschema

    xmlschema.XMLSchema(str(SCHEMA_DIR / schema)).validate(io.BytesIO(xml))


__all__ = ["export_qdpx", "export_qdc", "project_xml", "codebook_xml", "study_code_tree", "validate"]
