"""REFI-QDA import: a ``.qdpx`` project (ATLAS.ti, NVivo, MAXQDA, QualCoder, this workbench) into a study.

    >>> summary = import_qdpx(store, Path("study.qdpx"))          # doctest: +SKIP
    >>> print(summary)                                            # doctest: +SKIP

What comes in, and how:

* **text sources** — a ``TextSource``'s plain text (``internal://`` in the archive, or inline
  ``PlainTextContent``), else its rich text (``.docx``, through the Word reader). The text is
  normalised as every import is (NFC, ``\\n`` line endings, no BOM) and every selection's
  ``startPosition``/``endPosition`` — Unicode code points, as the standard counts — is mapped
  through that normalisation (and through PII redaction when the study redacts), so a selection
  selects the same characters it did in the other tool. Turns and excerpts are found as for any
  interview; PDF, picture, audio and video sources are skipped and the summary says so.
* **selections that are not excerpts** — a selection that covers exactly one excerpt codes that
  excerpt; any other selection (part of a sentence, several sentences) codes *every excerpt it
  overlaps* and carries its exact span (``codings.start``/``end``, offsets into the stored text),
  so the map counts the code on those excerpts and an export writes the very same selection back.
  A selection between turns (a heading) codes the nearest excerpt, with its span.
* **codes** — the code tree: this workbench's own export tags each code's description
  ``[dimension:code_id]``, which restores the dimension (stage, pain point, emotion…) and id; a code
  under one of our dimension folders without a tag joins that dimension; every other code is a
  ``theme``, its hierarchy kept from nesting or from ATLAS.ti's ``Parent::Child`` names (``parent:``).
  The codebooks built are stored in the study (and written as YAML with ``--codebooks-out``).
* **codings** — a person's coding is that person's human decision (``human:<name>``), so it wins
  over any machine suggestion and is never overwritten by a re-run; a coding by one of our
  machine users (``rules@2 (machine)``) comes back as that coder's suggestion, with the confidence
  and rationale the export wrote.
* **notes** — a note a coding refers to is that coding's memo; a selection's description is the memo
  of its codings; other notes (project memos) are kept as study notes and exported again.
* **cases, variables and sets** — a case names the participant of its sources; its variables
  become metadata (segment, channel, date, language, anything else in ``meta``); a set named
  ``name: value`` (ATLAS.ti document groups such as ``gender: female``) is metadata too, other sets
  are listed under ``groups``.

Bad input — not a zip, no ``.qde`` in it, XML that does not parse, a DTD or entity declarations
(refused: entity expansion), an archive entry whose path escapes the archive, a document that is not
REFI-QDA — raises :class:`InputError` with one line, before the study is touched. Everything else is
written in one transaction: the study gets the whole project or nothing.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

from .codebook import DIMENSION_CODEBOOKS, builtin_names, parse_codebook, resolve, to_yaml
from .errors import InputError
from .model import DIMENSIONS, Code, Codebook, Coding, Source
from .refi import DIMENSION_NAMES, NS, NS_CODEBOOK
from .store import Store

#: an archive entry read as text (a source's .txt or .docx, the .qde) may not unpack to more than this;
#: media files in the archive are never read
MAX_ENTRY_MB = 512
_TAG = re.compile(r"\s*\[([a-z_]+):([a-z][a-z0-9_]*)\]\s*$")
_MACHINE_LINE = re.compile(r"^([a-z_]+): ([a-z0-9_]+) \u2014 (\S+) \((\d(?:\.\d+)?)\): (.*)$")
_NOT_IN_BOOKS = "(not in the study's codebooks)"
NOTES_KEY = "refi.notes"                 # project notes kept with the study (JSON list)
CODEBOOKS_KEY = "refi.codebooks_yaml"    # imported codebooks (JSON: dimension → YAML)
_MEDIA = {"PDFSource": "PDF", "PictureSource": "picture", "AudioSource": "audio", "VideoSource": "video"}


# ----------------------------------------------------------------------------- reading, safely
def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _unsafe(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or ".." in p.parts or bool(re.match(r"^[A-Za-z]:", name))


def parse_xml(data: bytes, where: str, root_tag: str, ns: str) -> ET.Element:
    """Parse REFI-QDA XML without DTDs or entities (defusedxml); check the root element."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        root = DET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise InputError(f"Cannot import {where}: it declares a DTD or entities, which REFI-QDA never uses; refused "
                         "(XML entity expansion). Export the project again from its tool.") from None
    except ET.ParseError as e:
        line, col = getattr(e, "position", (0, 0))
        raise InputError(f"Cannot import {where}: the XML is not well-formed (line {line}, column {col}). "
                         "Export the project again from its tool.") from None
    if root.tag != _q(root_tag, ns):
        got = root.tag.replace("{", "").replace("}", " ")
        raise InputError(f"Cannot import {where}: it is not a REFI-QDA {'project' if ns == NS else 'codebook'} "
                         f"(the root element is '{got}', not '{root_tag}' in {ns}).")
    return root


@dataclass
class Archive:
    """A ``.qdpx`` (or a bare ``.qde``) opened for reading: the project XML, and the other entries
    by name, read only when a source asks for one (an archive may carry gigabytes of video)."""

    path: Path
    qde_name: str
    root: ET.Element
    names: dict[str, zipfile.ZipInfo] = field(default_factory=dict)     # lower-cased name → entry
    file_hash: str = ""

    def internal(self, ref: str) -> bytes | None:
        """The bytes an ``internal://X`` path names (``sources/X`` in the archive), if present."""
        if not ref.startswith("internal://"):
            return None
        name = ref[len("internal://"):].lstrip("/").lower()
        for key in (f"sources/{name}", name):
            if key in self.names:
                return _read_entry(self.path, self.names[key])
        return None


def _read_entry(path: Path, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_ENTRY_MB * 1024 * 1024:
        raise InputError(f"Cannot import {path}: its entry {info.filename} unpacks to {info.file_size / 2**20:.0f} MB, "
                         f"more than the {MAX_ENTRY_MB} MB a text may have.")
    try:
        with zipfile.ZipFile(path) as z, z.open(info) as fh:
            data = fh.read(MAX_ENTRY_MB * 1024 * 1024 + 1)       # a size field can lie: read no more than allowed
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as e:
        raise InputError(f"Cannot import {path}: its entry {info.filename} is damaged ({e}).") from None
    if len(data) > MAX_ENTRY_MB * 1024 * 1024:
        raise InputError(f"Cannot import {path}: its entry {info.filename} unpacks to more than {MAX_ENTRY_MB} MB.")
    return data


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise InputError(f"Cannot read {path}: {e.strerror or e}.") from None
    return h.hexdigest()


def open_archive(path: Path) -> Archive:
    """Open and check a ``.qdpx``: entries inside the archive only, one ``.qde``, REFI-QDA XML."""
    path = Path(path)
    digest = _file_hash(path)
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            head = fh.read(256).lstrip(b"\xef\xbb\xbf").lstrip()
        if path.suffix.lower() == ".qde" or head[:5] == b"<?xml":
            if path.stat().st_size > MAX_ENTRY_MB * 1024 * 1024:
                raise InputError(f"Cannot import {path}: it is larger than {MAX_ENTRY_MB} MB.")
            return Archive(path, path.name, parse_xml(path.read_bytes(), str(path), "Project", NS), {}, digest)
        raise InputError(f"Cannot import {path}: it is not a .qdpx archive (a zip) nor a .qde project file.")
    try:
        with zipfile.ZipFile(path) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as e:
        raise InputError(f"Cannot import {path}: the archive is damaged ({e}).") from None
    bad = next((i.filename for i in infos if _unsafe(i.filename)), None)
    if bad is not None:
        raise InputError(f"Cannot import {path}: the archive entry '{bad}' points outside the archive "
                         "(path traversal); refused.")
    qdes = [i for i in infos if i.filename.lower().endswith(".qde")]
    if not qdes:
        raise InputError(f"Cannot import {path}: the archive holds no .qde project file; is it a REFI-QDA export (.qdpx)?")
    if len(qdes) > 1:
        top = [i for i in qdes if "/" not in i.filename.strip("/")]
        if len(top) != 1:
            raise InputError(f"Cannot import {path}: it holds {len(qdes)} .qde files "
                             f"({', '.join(i.filename for i in qdes[:3])}); a project has one.")
        qdes = top
    names = {i.filename.replace("\\", "/").lower(): i for i in infos}
    root = parse_xml(_read_entry(path, qdes[0]), f"{path} ({qdes[0].filename})", "Project", NS)
    return Archive(path, qdes[0].filename, root, names, digest)


# ----------------------------------------------------------------------------- text and offsets
def normalise_with_map(raw: str) -> tuple[str, list[int]]:
    """:func:`workbench.decode.normalise` of ``raw`` and, for every position 0…len(raw) of ``raw``,
    its position in the result (a position inside a composed or dropped character maps to the
    start of what it became)."""
    if raw.isascii() and "\r" not in raw:
        text = raw.rstrip()
        return text, [min(p, len(text)) for p in range(len(raw) + 1)]
    out: list[str] = []
    pos = [0] * (len(raw) + 1)
    n = 0
    i = 0
    if raw.startswith("\ufeff"):
        i = 1
    while i < len(raw):
        ch = raw[i]
        if ch == "\r" and i + 1 < len(raw) and raw[i + 1] == "\n":
            pos[i] = pos[i + 1] = n
            out.append("\n")
            n += 1
            i += 2
            continue
        if ch in "\r\u2028\u2029":
            pos[i] = n
            out.append("\n")
            n += 1
            i += 1
            continue
        # a character and what composes with it (combining marks; Hangul jamo; Indic two-part vowels)
        j = i + 1
        piece = unicodedata.normalize("NFC", raw[i])
        while j < len(raw) and raw[j] not in "\r\n\u2028\u2029":
            longer = unicodedata.normalize("NFC", raw[i:j + 1])
            if not unicodedata.combining(raw[j]) and longer == piece + unicodedata.normalize("NFC", raw[j]):
                break
            piece, j = longer, j + 1
        for k in range(i, j):
            pos[k] = n
        out.append(piece)
        n += len(piece)
        i = j
    text = "".join(out)
    stripped = text.rstrip()
    pos[len(raw)] = n
    pos = [min(p, len(stripped)) for p in pos]
    return stripped, pos


def _redaction_map(redactor: Any, source: Source) -> list[tuple[int, int, int]]:
    """(start, end, length change) of each placeholder :meth:`Redactor.redact_source` will put in
    ``source``: what :func:`_through` needs to carry a position of the text into the redacted text."""
    hits = sorted(redactor.source_hits(source), key=lambda h: h.start)
    shifts = [(h.start, h.end, len(redactor.placeholder(h)) - (h.end - h.start)) for h in hits]
    return shifts


def _through(shifts: list[tuple[int, int, int]], p: int, end: bool) -> int:
    out = p
    for a, b, d in shifts:
        if b <= p:
            out += d
        elif a < p < b:                 # inside a placeholder: select the whole placeholder
            return out + (b - a + d if end else 0) - (p - a)
        else:
            break
    return out


# ----------------------------------------------------------------------------- codes → codebooks
def _slug(name: str) -> str:
    s = unicodedata.normalize("NFKD", name)
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).lower()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s if s and s[0].isalpha() else f"code_{s}" if s else "code"


@dataclass
class RefiCode:
    guid: str
    name: str
    description: str
    codable: bool
    parent: str | None          # parent code's GUID
    dimension: str = "theme"
    code_id: str = ""
    label: str = ""


def read_codes(codes_el: ET.Element | None, ns: str = NS) -> list[RefiCode]:
    """The code tree, depth first, each code with its parent's GUID."""
    out: list[RefiCode] = []

    def walk(el: ET.Element, parent: str | None) -> None:
        for c in el.findall(_q("Code", ns)):
            d = c.find(_q("Description", ns))
            out.append(RefiCode(c.get("guid", ""), _nfc(c.get("name", "")), _nfc((d.text or "").strip()) if d is not None else "",
                                c.get("isCodable", "true") != "false", parent))
            walk(c, c.get("guid"))

    if codes_el is not None:
        walk(codes_el, None)
    return out


_DIM_BY_NAME = {v.lower(): k for k, v in DIMENSION_NAMES.items()}


def assign_codes(codes: list[RefiCode]) -> tuple[list[RefiCode], dict[str, str]]:
    """Give every code a dimension and an id: our tags first, our dimension folders next, else themes.
    Returns the codes (dimension folders left out) and the folders (GUID → dimension)."""
    by_guid = {c.guid: c for c in codes}
    folders: dict[str, str] = {}
    for c in codes:
        if c.parent is None and not _TAG.search(c.description) and c.name.lower() in _DIM_BY_NAME and (
                not c.codable or any(k.parent == c.guid and _TAG.search(k.description) for k in codes)):
            folders[c.guid] = _DIM_BY_NAME[c.name.lower()]
    used: dict[str, set[str]] = {}

    def unique(dim: str, base: str) -> str:
        ids = used.setdefault(dim, set())
        cid, n = base, 2
        while cid in ids:
            cid, n = f"{base}_{n}", n + 1
        ids.add(cid)
        return cid

    for c in codes:                                     # tagged ids are fixed: reserve them first
        m = _TAG.search(c.description)
        if m and m.group(1) in DIMENSIONS:
            c.dimension, c.code_id = m.group(1), m.group(2)
            used.setdefault(c.dimension, set()).add(c.code_id)
            c.description = c.description[:m.start()].strip()
            if c.description == _NOT_IN_BOOKS:
                c.description = ""
            c.label = c.name
    for c in codes:
        if c.code_id or c.guid in folders:
            continue
        top = c
        while top.parent is not None and top.parent in by_guid:
            top = by_guid[top.parent]
        if top.guid in folders:
            c.dimension, c.label = folders[top.guid], c.name
            c.code_id = unique(c.dimension, _slug(c.name))
            continue
        parts = [p.strip() for p in c.name.split("::")]
        c.label = parts[-1] or c.name
        c.code_id = unique("theme", _slug("_".join(parts)) if len(parts) > 1 else _slug(c.label))
    return [c for c in codes if c.guid not in folders], folders


def build_codebooks(codes: list[RefiCode], folders: dict[str, str], name: str, root_desc: dict[str, str]
                    ) -> tuple[dict[str, Codebook], list[str]]:
    """Codebooks per dimension from the assigned codes, and notes on what could not be rebuilt.

    Pain-point and emotion codebooks need what REFI-QDA does not carry (severity rubrics, families
    and valence): their codes are matched to the shipped codebook; codes it lacks stay as codes
    without a codebook (the note says which)."""
    by_guid = {c.guid: c for c in codes}
    books: dict[str, Codebook] = {}
    notes: list[str] = []
    dims = sorted({c.dimension for c in codes}, key=list(DIMENSIONS).index)
    for dim in dims:
        mine = [c for c in codes if c.dimension == dim]
        ids = {c.code_id for c in mine}
        shipped = _shipped_for(dim, ids)
        if shipped is not None:
            books[dim] = shipped
            continue
        if dim in ("pain_point", "emotion"):
            notes.append(f"{len(mine)} {DIMENSION_NAMES[dim].lower()} code(s) are not all in a shipped codebook "
                         f"({', '.join(sorted(ids)[:5])}…): kept as codes; their labels come back only as ids.")
            continue
        cb_codes = []
        for k, c in enumerate(mine, start=1):
            parent = _parent_id(c, by_guid, codes)
            cb_codes.append(Code(code_id=c.code_id, dimension=dim, label=c.label or c.code_id,
                                 definition=c.description or c.label or c.code_id, parent=parent,
                                 order=k if dim == "stage" else None))
        cb = Codebook(name=f"{_slug(name)}_{dim}", version="imported", codes=cb_codes, dimension=dim,
                      kind="stage_model" if dim == "stage" else "", description=root_desc.get(dim, ""),
                      default=cb_codes[0].code_id if dim == "stage" else "")
        books[dim] = parse_codebook(to_yaml(cb), f"<codebook imported from {name}>")   # validated
    return books, notes


def _parent_id(c: RefiCode, by_guid: dict[str, RefiCode], codes: list[RefiCode]) -> str | None:
    if c.parent and c.parent in by_guid and by_guid[c.parent].dimension == c.dimension:
        return by_guid[c.parent].code_id
    if "::" in c.name:                                  # ATLAS.ti: "Coke::diet Coke" → parent "Coke"
        head = c.name.rsplit("::", 1)[0].strip().lower()
        for k in codes:
            if k is not c and k.dimension == c.dimension and k.name.strip().lower() == head:
                return k.code_id
    return None


def _shipped_for(dim: str, ids: set[str]) -> Codebook | None:
    names = [DIMENSION_CODEBOOKS[dim]] if dim in DIMENSION_CODEBOOKS else []
    names += [n for n in builtin_names() if n not in names]
    for n in names:
        cb = resolve(n)
        if cb.dimension == dim and ids <= {c.code_id for c in cb.codes}:
            return cb
    return None


def codebooks_from_qdc(path: Path) -> tuple[dict[str, Codebook], list[str]]:
    """The codebooks of a ``.qdc`` file (or of a ``.qdpx`` project's code tree)."""
    path = Path(path)
    if zipfile.is_zipfile(path) or path.suffix.lower() in (".qdpx", ".qde"):
        arc = open_archive(path)
        codes_el = arc.root.find(f"{_q('CodeBook')}/{_q('Codes')}")
        return _books(read_codes(codes_el, NS), arc.root.get("name") or path.stem)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"Cannot read {path}: {e.strerror or e}.") from None
    root = parse_xml(data, str(path), "CodeBook", NS_CODEBOOK)
    return _books(read_codes(root.find(_q("Codes", NS_CODEBOOK)), NS_CODEBOOK), path.stem)


def _books(codes: list[RefiCode], name: str) -> tuple[dict[str, Codebook], list[str]]:
    if not codes:
        raise InputError(f"{name}: the code tree is empty; there is nothing to import.")
    folder_desc = {}
    kept, folders = assign_codes(codes)
    for c in codes:
        if c.guid in folders and c.description:
            folder_desc[folders[c.guid]] = c.description
    return build_codebooks(kept, folders, name, folder_desc)[0:2]


# ----------------------------------------------------------------------------- the import
@dataclass
class ImportSummary:
    """What an import took and what it skipped, in sentences a researcher can act on."""

    study: str
    project: str
    origin: str
    sources: list[str] = field(default_factory=list)
    skipped_sources: list[str] = field(default_factory=list)
    codebooks: dict[str, int] = field(default_factory=dict)
    codings: int = 0
    suggestions: int = 0
    spans: int = 0
    skipped_codings: list[str] = field(default_factory=list)
    memos: int = 0
    notes: int = 0
    users: list[str] = field(default_factory=list)
    metadata: int = 0
    notes_text: list[str] = field(default_factory=list)
    redacted: bool = False

    def __str__(self) -> str:
        lines = [f"Imported REFI-QDA project '{self.project}' ({self.origin or 'unknown tool'}) into {self.study}:",
                 f"  {len(self.sources)} text source(s)" + (f": {', '.join(self.sources[:6])}"
                                                           + ("…" if len(self.sources) > 6 else "") if self.sources else ""),
                 "  codes: " + (", ".join(f"{DIMENSION_NAMES.get(d, d).lower()} {n}" for d, n in self.codebooks.items())
                                 or "none"),
                 f"  {self.codings} human coding(s)" + (f", {self.suggestions} machine suggestion(s)" if self.suggestions else "")
                 + (f"; {self.spans} selection(s) that are not one excerpt kept with their exact span" if self.spans else ""),
                 f"  users: {', '.join(self.users) or 'none'}; {self.memos} memo(s) on codings, {self.notes} project note(s)"
                 + (f"; metadata for {self.metadata} source(s)" if self.metadata else "")]
        if self.redacted:
            lines.append("  PII redacted in the texts and memos (this study redacts every import)")
        if self.skipped_sources:
            lines.append(f"  skipped {len(self.skipped_sources)} source(s):")
            lines += [f"    - {s}" for s in self.skipped_sources]
        if self.skipped_codings:
            lines.append(f"  skipped {len(self.skipped_codings)} coding(s):")
            lines += [f"    - {s}" for s in _grouped(self.skipped_codings)]
        lines += [f"  note: {n}" for n in self.notes_text]
        return "\n".join(lines)


def _grouped(items: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for s in items:
        seen[s] = seen.get(s, 0) + 1
    return [f"{s} (×{n})" if n > 1 else s for s, n in seen.items()]


@dataclass
class _Selection:
    guid: str
    start: int
    end: int
    user: str
    description: str
    codings: list[tuple[str, str, list[str]]]        # (code GUID, user GUID, note GUIDs)
    notes: list[str]


def _selections(src: ET.Element) -> list[_Selection]:
    out = []
    for s in src.findall(_q("PlainTextSelection")):
        d = s.find(_q("Description"))
        codings = [(c.find(_q("CodeRef")).get("targetGUID", "") if c.find(_q("CodeRef")) is not None else "",
                    c.get("creatingUser") or s.get("creatingUser") or "",
                    [n.get("targetGUID", "") for n in c.findall(_q("NoteRef"))]) for c in s.findall(_q("Coding"))]
        try:
            a, b = int(s.get("startPosition", "")), int(s.get("endPosition", ""))
        except ValueError:
            a = b = -1
        out.append(_Selection(s.get("guid", ""), a, b, s.get("creatingUser", ""), (d.text or "").strip() if d is not None else "",
                              codings, [n.get("targetGUID", "") for n in s.findall(_q("NoteRef"))]))
    return out


def _coder_of(user: ET.Element | None) -> tuple[str, bool]:
    """(coder id, is_machine) of a REFI user: our machine users carry their id; people are human:<name>."""
    if user is None:
        return "human:imported", False
    uid, name = user.get("id", ""), _nfc((user.get("name") or "").strip())
    if uid and name.endswith("(machine)") and not uid.startswith("human:") and "@" in uid:
        return uid, True
    if uid.startswith("human:"):
        return uid, False
    return "human:" + (name or uid or "imported"), False


def _text_of(arc: Archive, src: ET.Element) -> tuple[str | None, str]:
    """(raw text, why not) of a TextSource: inline content, plain-text path, else the .docx."""
    inline = src.find(_q("PlainTextContent"))
    if inline is not None and inline.text:
        return inline.text, ""
    plain, rich = src.get("plainTextPath", ""), src.get("richTextPath", "")
    data = arc.internal(plain) if plain else None
    if data is not None:
        try:
            return data.decode("utf-8"), ""
        except UnicodeDecodeError as e:
            return None, f"its text ({plain}) is not UTF-8 (byte {e.start}), as REFI-QDA requires"
    if rich and (docx := arc.internal(rich)) is not None:
        from .ingest.docx import _docx_lines
        try:
            return "\n".join(_docx_lines(docx, Path(src.get("name", "source.docx")))), ""
        except InputError as e:
            return None, str(e)
    where = plain or rich or "no path"
    if where.startswith(("relative://", "absolute://", "file:")):
        return None, f"its text is outside the archive ({where}); REFI-QDA exports carry it inside"
    return None, f"its text file ({where}) is missing from the archive"


def _variables(root: ET.Element) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Per source GUID: metadata from cases (participant, variables) and sets ("name: value")."""
    names = {v.get("guid", ""): v.get("name", "") for v in root.iter(_q("Variable"))}
    meta: dict[str, dict[str, Any]] = {}
    for case in root.iter(_q("Case")):
        values: dict[str, Any] = {"participant": case.get("name", "")}
        for vv in case.findall(_q("VariableValue")):
            ref = vv.find(_q("VariableRef"))
            if ref is None or ref.get("targetGUID") not in names:
                continue
            for tag in ("TextValue", "FloatValue", "IntegerValue", "BooleanValue", "DateValue", "DateTimeValue"):
                el = vv.find(_q(tag))
                if el is not None and el.text is not None:
                    v: Any = el.text
                    if tag == "FloatValue":
                        v = float(v)
                    elif tag == "IntegerValue":
                        v = int(v)
                    values[names[ref.get("targetGUID")]] = v
        for ref in case.findall(_q("SourceRef")) + case.findall(_q("MemberSource")):
            meta.setdefault(ref.get("targetGUID", ""), {}).update(values)
    groups: dict[str, list[str]] = {}
    for s in root.iter(_q("Set")):
        name = s.get("name", "")
        for m in s.findall(_q("MemberSource")):
            g = m.get("targetGUID", "")
            if re.fullmatch(r"[^:]{1,40}:\s*\S.*", name):
                k, v = (p.strip() for p in name.split(":", 1))
                meta.setdefault(g, {}).setdefault(k, v)
            else:
                groups.setdefault(g, []).append(name)
    for g, names_ in groups.items():
        meta.setdefault(g, {})["groups"] = "; ".join(names_)
    return meta, names


def _apply_meta(source: Source, values: dict[str, Any]) -> None:
    for k, v in values.items():
        if v in (None, ""):
            continue
        if k in ("participant", "segment", "channel", "date"):
            setattr(source, k, str(v))
        elif k not in ("language", "kind"):
            source.meta[k] = v


def _text_units(arc: Archive, sources: list[ET.Element], summary: ImportSummary
                ) -> list[tuple[ET.Element, str, str, str, str | None, str]]:
    """(element holding the text and its selections, name, GUID, the source's GUID, its raw text or
    None, why not) of every text to import: text sources, a PDF's text representation, an audio or
    video transcript that no text source already carries; each text is read once, here. Media
    sources without text are noted in ``summary`` as skipped."""
    units = []
    text_paths = {s.get("plainTextPath") for s in sources if s.tag == _q("TextSource") and s.get("plainTextPath")}
    for src in sources:
        kind = src.tag.rsplit("}", 1)[-1]
        name = _nfc(src.get("name") or src.get("guid", ""))          # macOS tools write names decomposed (NFD)
        guid = src.get("guid", name)
        if kind == "TextSource":
            units.append((src, name, guid, guid, *_text_of(arc, src)))
            continue
        what = _MEDIA.get(kind, kind)
        article = "an" if what[0] in "aeiou" else "a"
        if kind == "PDFSource":
            texts = [(r, name) for r in src.findall(_q("Representation"))]
        elif kind in ("AudioSource", "VideoSource"):
            texts = [(t, _nfc(t.get("name") or f"{name} (transcript)")) for t in src.findall(_q("Transcript"))
                     if t.get("plainTextPath") not in text_paths]
        else:
            texts = []
        read = [(r, n, *_text_of(arc, r)) for r, n in texts]
        texts = [(r, n, raw) for r, n, raw, _ in read if raw is not None]
        on_text = {id(c) for r, _, _ in texts for sel in r.findall(_q("PlainTextSelection")) for c in sel.findall(_q("Coding"))}
        n_media = sum(1 for c in src.iter(_q("Coding")) if id(c) not in on_text)
        if texts:
            units += [(r, n, r.get("guid") or f"{guid}:{i}", guid, raw, "") for i, (r, n, raw) in enumerate(texts)]
            if n_media:
                summary.skipped_sources.append(f"{name}: {article} {what} source; its text is imported, the "
                                               f"{n_media} coding(s) of its {what} regions are not")
                summary.skipped_codings += [f"on regions of the {what} source {name}"] * n_media
            continue
        summary.skipped_sources.append(f"{name}: {article} {what} source (only text is imported"
                                       + (", and the archive holds no text of it" if kind != "PictureSource" else "")
                                       + ")" + (f"; {n_media} coding(s) on it not imported" if n_media else ""))
        summary.skipped_codings += [f"on the {what} source {name}"] * n_media
    return units


def _as_source(name: str, text: str, key: str) -> Source:
    """The text as a source with turns: through the reader its name suggests (usability notes, a
    transcript) when that reader keeps the text as it is, else speaker labels, paragraphs or lines."""
    from .ingest import READERS, ReadOptions
    from .ingest.base import drop_empty_turns, reader_for
    from .ingest.transcript import paragraph_turns, split_turns

    kind, turns = "interview", []
    suffix = Path(name).suffix.lower()
    if any(suffix in spec.extensions for spec in READERS.values() if not spec.binary) and suffix not in (".csv", ".tsv"):
        try:
            spec = reader_for(Path(name), None, text[:65536])
            got = spec.fn(text.encode("utf-8"), Path(name), ReadOptions())
            if len(got) == 1 and got[0].text == text:
                kind, turns = got[0].kind, got[0].turns
        except (InputError, ValueError, RecursionError):
            pass
    if not turns:
        turns = split_turns(text) or paragraph_turns(text)
    if not [t for t in turns if text[t.start:t.end].strip()]:
        turns = paragraph_turns(text.replace("\n#", "\n "))       # only headings: keep them as text
    source = Source(name=name, kind=kind, text=text, turns=turns, key=key)
    source.reader = "refi"
    drop_empty_turns(source)
    return source


def _parse_suggestions(description: str) -> dict[tuple[str, str, str], tuple[float, str]]:
    out = {}
    if not description.startswith("Machine suggestions"):
        return out
    for line in description.splitlines()[1:]:
        m = _MACHINE_LINE.match(line.strip())
        if m:
            out[(m.group(1), m.group(2), m.group(3))] = (min(1.0, float(m.group(4))), m.group(5))
    return out


def import_qdpx(store: Store, path: Path, redact: bool | None = None, codebooks_out: Path | None = None
                ) -> ImportSummary:
    """Import a REFI-QDA project into ``store`` — all of it, in one transaction, or nothing."""
    from .nlp import Segmenter
    from .pipeline import PERSONS_KEY, SUMMARY_KEY, prepare, redaction_for

    path = Path(path)
    arc = open_archive(path)
    root = arc.root
    project = root.get("name") or path.stem
    summary = ImportSummary(study=store.path.name, project=project, origin=root.get("origin", ""))
    before = next((i for i in json.loads(store.info().get("refi.imports") or "[]") if i["file_hash"] == arc.file_hash), None)
    if before is not None:
        raise InputError(f"{path}: this project is already imported into {store.path.name} (from {before['path']}); "
                         "nothing changed.")

    users = {u.get("guid", ""): u for u in root.iter(_q("User"))}
    codes = read_codes(root.find(f"{_q('CodeBook')}/{_q('Codes')}"))
    kept, folders = assign_codes(codes)
    folder_desc = {folders[c.guid]: c.description for c in codes if c.guid in folders and c.description}
    books, book_notes = build_codebooks(kept, folders, project, folder_desc) if kept else ({}, [])
    summary.notes_text += book_notes
    code_of = {c.guid: (c.dimension, c.code_id) for c in kept}
    summary.codebooks = {d: sum(1 for c in kept if c.dimension == d) for d in dict.fromkeys(c.dimension for c in kept)}
    notes = {n.get("guid", ""): n for n in root.iter(_q("Note"))}
    used_notes: set[str] = set()

    def note_text(g: str) -> str:
        n = notes.get(g)
        if n is None:
            return ""
        used_notes.add(g)
        c = n.find(_q("PlainTextContent"))
        return (c.text or "").strip() if c is not None else ""

    meta, _ = _variables(root)
    redactor = redaction_for(store, bool(redact))
    summary.redacted = redactor is not None
    segmenter = Segmenter()
    codings: list[Coding] = []
    coders: set[str] = set()
    src_el = root.find(_q("Sources"))
    sources = list(src_el) if src_el is not None else []
    with store.transaction():
        red_summary = json.loads(store.info().get(SUMMARY_KEY) or "{}") if redactor is not None else {}
        for el, name, guid, meta_guid, raw, why in _text_units(arc, sources, summary):
            n_codings = sum(len(sel.findall(_q("Coding"))) for sel in el.findall(_q("PlainTextSelection")))
            if raw is None:
                summary.skipped_sources.append(f"{name}: {why}" + (f"; {n_codings} coding(s) on it not imported"
                                                                  if n_codings else ""))
                summary.skipped_codings += [f"on {name}, whose text is missing"] * n_codings
                continue
            text, pos = normalise_with_map(raw)
            if not text.strip():
                summary.skipped_sources.append(f"{name}: its text is empty")
                continue
            try:
                source = _as_source(name, text, f"refi:{guid}")
            except InputError as e:
                summary.skipped_sources.append(f"{name}: {e}")
                continue
            _apply_meta(source, meta.get(meta_guid, {}))
            if any(k not in ("participant",) for k in meta.get(meta_guid, {})):
                summary.metadata += 1
            shifts: list[tuple[int, int, int]] = []
            if redactor is not None:
                shifts = _redaction_map(redactor, source)
                counts = redactor.redact_source(source)
            h = hashlib.sha256(f"{arc.file_hash}:{guid}".encode()).hexdigest()
            report = store.import_sources(f"{path}#{name}", h, "refi", [source],
                                          lambda items: prepare(items, segmenter, {}, {}, 1),
                                          settings={"reader": "refi", "project": project,
                                                    "segmentation": segmenter.settings.as_dict()})
            if report.status != "imported":
                summary.skipped_sources.append(f"{name}: {report.message.split(': ', 1)[-1]}")
                summary.skipped_codings += [f"on {name}, already in the study"] * n_codings
                continue
            sid = report.source_ids[0]
            if redactor is not None:
                red_summary[sid] = {"name": source.name, "counts": dict(sorted(counts.items()))}
            summary.sources.append(name)
            ex = store.excerpts(sid)[["excerpt_id", "start", "end"]].sort_values("start")
            spans = list(zip(ex["excerpt_id"], ex["start"].astype(int), ex["end"].astype(int)))
            n_raw = len(raw)
            for sel in _selections(el):
                if not sel.codings:
                    if sel.description:
                        kept_note = {"name": f"Selection {sel.guid} in {name}", "text": sel.description,
                                     "about": f"{name} [{sel.start}:{sel.end}]"}
                        _keep_note(store, kept_note, redactor)
                        summary.notes += 1
                    continue
                if not (0 <= sel.start <= sel.end <= n_raw):
                    summary.skipped_codings += [f"selection {sel.guid} in {name}: positions {sel.start}–{sel.end} "
                                                f"are outside the text ({n_raw} characters)"] * len(sel.codings)
                    continue
                a, b = pos[sel.start], pos[sel.end]
                if shifts:
                    a, b = _through(shifts, a, False), _through(shifts, b, True)
                if b <= a:
                    summary.skipped_codings += [f"selection {sel.guid} in {name} is empty"] * len(sel.codings)
                    continue
                hit = [(e, s, t) for e, s, t in spans if s < b and a < t]
                exact = len(hit) == 1 and (hit[0][1], hit[0][2]) == (a, b)
                if not hit:                         # between turns: the nearest excerpt
                    hit = [min(spans, key=lambda x: min(abs(x[1] - b), abs(x[2] - a)))]
                if not exact:
                    summary.spans += 1
                machine = _parse_suggestions(sel.description)
                memo_sel = "" if machine else sel.description
                memo_sel = "\n\n".join(x for x in [memo_sel] + [note_text(g) for g in sel.notes] if x)
                for code_guid, user_guid, note_refs in sel.codings:
                    if code_guid not in code_of:
                        summary.skipped_codings.append(f"a coding in {name} refers to an unknown code ({code_guid})")
                        continue
                    dim, code_id = code_of[code_guid]
                    coder, is_machine = _coder_of(users.get(user_guid))
                    memo = "\n\n".join(x for x in [memo_sel] + [note_text(g) for g in note_refs] if x)
                    if redactor is not None and memo:
                        memo = redactor.redact(memo).text
                    conf, rationale = machine.get((dim, code_id, coder), (1.0, ""))
                    if is_machine:
                        rationale = rationale or f"imported from {project} ({summary.origin})"
                    else:
                        rationale = f"imported from REFI-QDA project {project} ({summary.origin or 'unknown tool'})"
                    coders.add(coder)
                    for e, _, _ in hit:
                        codings.append(Coding(excerpt_id=e, dimension=dim, code_id=code_id, coder=coder,
                                              confidence=conf if is_machine else 1.0, rationale=rationale,
                                              status="suggested" if is_machine else "accepted",
                                              start=None if exact else a, end=None if exact else b, memo=memo))
                    if is_machine:
                        summary.suggestions += 1
                    else:
                        summary.codings += 1
                    summary.memos += bool(memo)
        if codings:
            store.add_codings(codings)
        for g, n in notes.items():                  # notes nothing refers to: project memos
            if g in used_notes:
                continue
            content = n.find(_q("PlainTextContent"))
            desc = n.find(_q("Description"))
            text = "\n\n".join(x.text.strip() for x in (desc, content) if x is not None and x.text and x.text.strip())
            author, _ = _coder_of(users.get(n.get("creatingUser", "")))
            _keep_note(store, {"name": n.get("name", ""), "text": text, "author": author.split(":", 1)[-1]}, redactor)
            summary.notes += 1
        info = store.info()
        stored = json.loads(info.get(CODEBOOKS_KEY) or "{}")
        for dim, cb in books.items():
            stored[dim] = to_yaml(cb)
        updates = {CODEBOOKS_KEY: json.dumps(stored, sort_keys=True)} if books else {}
        if redactor is not None:
            updates |= {PERSONS_KEY: json.dumps(redactor.persons, sort_keys=True),
                        SUMMARY_KEY: json.dumps(red_summary, sort_keys=True)}
        imported = json.loads(info.get("refi.imports") or "[]")
        imported.append({"path": str(path), "file_hash": arc.file_hash, "project": project, "origin": summary.origin})
        updates["refi.imports"] = json.dumps(imported, sort_keys=True)
        store.set_info(updates)
    summary.users = sorted(c.split(":", 1)[1] if c.startswith("human:") else c for c in coders)
    if not coders and users:
        summary.users = [", ".join(sorted(u.get("name") or u.get("guid", "") for u in users.values()))
                         + " (none with a coding imported)"]
    if codebooks_out is not None and books:
        from .files import atomic_write_many
        atomic_write_many(Path(codebooks_out), {f"{cb.name}.yaml": to_yaml(cb) for cb in books.values()})
    return summary


def _keep_note(store: Store, note: dict, redactor: Any) -> None:
    if redactor is not None:
        note = {k: redactor.redact(v).text if k == "text" else v for k, v in note.items()}
    notes = json.loads(store.info().get(NOTES_KEY) or "[]")
    notes.append(note)
    store.set_info({NOTES_KEY: json.dumps(notes, ensure_ascii=False)})


def imported_codebooks(info: dict[str, str]) -> dict[str, Codebook]:
    """The codebooks REFI-QDA imports stored in a study (dimension → codebook)."""
    try:
        stored = json.loads(info.get(CODEBOOKS_KEY) or "{}")
    except ValueError:
        return {}
    return {dim: parse_codebook(y, f"<{dim} codebook imported into the study>") for dim, y in stored.items()}


def study_notes(info: dict[str, str]) -> list[dict]:
    try:
        return json.loads(info.get(NOTES_KEY) or "[]")
    except ValueError:
        return []


__all__ = ["import_qdpx", "codebooks_from_qdc", "open_archive", "normalise_with_map", "ImportSummary",
           "imported_codebooks", "study_notes"]
