"""Codebooks as data: YAML files, validated on load with errors that name file, line and problem.

A codebook file::

    codebook: pain_points          # name
    version: 1
    dimension: pain_point          # stage, pain_point, emotion, touchpoint, actor, backstage, opportunity, activity, thought, theme
    kind: stage_model              # only for ordered stage models
    default: usage                 # optional: the code assumed when nothing points elsewhere
    description: ...
    codes:
      - id: waiting                # lower_snake_case, unique
        label: Waiting and delay
        definition: ...
        include: ...               # optional notes
        exclude: ...
        examples: {en: [...], es: [...]}
        cues: {en: [...], es: [...]}
        order: 1                   # stage models: required, unique
        family: anger              # emotions: Ekman family or neutral
        valence: -0.5              # emotions: -1..1
        severity: {1: ..., 2: ..., 3: ...}   # pain points: the rubric
        stage: interest            # activities: the stage where customers usually do it

A stage model may name its activities codebook (``activities: activities_b2b_seven`` or a path
relative to the stage model's file); the ``activity`` dimension is coded with it.

The shipped codebooks live in ``workbench/codebooks/``; a researcher's own file loads the same way.

    >>> load_codebook(builtin_path("pain_points")).get("waiting").label
    'Waiting and delay'
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode

from .errors import CodebookError, yaml_problem
from .model import DIMENSIONS, Code, Codebook

BUILTIN_DIR = Path(__file__).resolve().parent / "codebooks"
#: The shipped codebook of each coded dimension other than the stage and the activities (whose model a study chooses).
DIMENSION_CODEBOOKS = {"touchpoint": "touchpoints", "actor": "actors", "backstage": "backstage",
                       "opportunity": "opportunities", "pain_point": "pain_points", "emotion": "emotions",
                       "thought": "thoughts"}
EKMAN_FAMILIES = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
TOP_KEYS = {"codebook", "version", "dimension", "kind", "description", "codes", "default", "severity_cues", "activities"}
CODE_KEYS = {"id", "label", "labels", "definition", "include", "exclude", "examples", "cues", "parent", "order",
             "family", "valence", "severity", "stage"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: A language key: an ISO 639-1 or 639-3 code, optionally with a region or script ("pt-br"), or "any".
LANGUAGE_KEY = re.compile(r"^(any|[a-z]{2,3}(-[a-z0-9]{2,8})*)$")


def _language_key(lang: Any, where: "_Where", node: Node, what: str) -> str:
    key = str(lang).strip().lower()
    if not LANGUAGE_KEY.match(key):
        raise where.error(node, f"{what}: {lang!r} is not a language code; use an ISO 639 code such as en, es, ro, "
                                "fr, pt-br (or 'any' for phrases of every language).")
    return key


class _Where:
    """Formats ``file, line N: problem`` messages."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: Node | None, problem: str) -> CodebookError:
        line = f", line {node.start_mark.line + 1}" if node is not None else ""
        return CodebookError(f"Codebook {self.path}{line}: {problem}")


def _py(node: Node) -> Any:
    return SafeConstructor().construct_object(node, deep=True)


def _mapping(node: Node, where: _Where, what: str, allowed: set[str]) -> dict[str, tuple[Node, Node]]:
    if not isinstance(node, MappingNode):
        raise where.error(node, f"{what} must be a mapping of keys to values.")
    out: dict[str, tuple[Node, Node]] = {}
    for k, v in node.value:
        key = str(_py(k))
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed keys: {', '.join(sorted(allowed))}"
            raise where.error(k, f"unknown key '{key}' in {what}{hint}.")
        if key in out:
            raise where.error(k, f"key '{key}' appears twice in {what}.")
        out[key] = (k, v)
    return out


def _text(entry: tuple[Node, Node] | None, where: _Where, what: str, required: bool, parent: Node) -> str:
    if entry is None:
        if required:
            raise where.error(parent, f"{what} is missing.")
        return ""
    k, v = entry
    value = _py(v)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
        raise where.error(v, f"{what} must be non-empty text.")
    return str(value).strip()


def _by_language(entry: tuple[Node, Node] | None, where: _Where, what: str) -> dict[str, tuple[str, ...]]:
    if entry is None:
        return {}
    _, v = entry
    value = _py(v)
    if isinstance(value, list):  # a plain list: language not stated
        value = {"any": value}
    if not isinstance(value, dict):
        raise where.error(v, f"{what} must map a language code to a list of phrases, e.g. {{en: [...], es: [...]}}.")
    out: dict[str, tuple[str, ...]] = {}
    for lang, items in value.items():
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise where.error(v, f"{what} for '{lang}' must be a list of non-empty strings.")
        out[_language_key(lang, where, v, what)] = tuple(i.strip() for i in items)
    return out


def _labels(entry: tuple[Node, Node] | None, where: "_Where", what: str) -> dict[str, str]:
    """``labels: {ro: Așteptare, es: Espera}``: the code's label per language."""
    if entry is None:
        return {}
    _, v = entry
    value = _py(v)
    if not isinstance(value, dict) or not all(isinstance(x, str) and x.strip() for x in value.values()):
        raise where.error(v, f"{what} must map a language code to a label, e.g. {{es: Espera, ro: Așteptare}}.")
    return {_language_key(k, where, v, what): x.strip() for k, x in value.items()}


def parse_codebook(text: str, path: Path | str = "<string>") -> Codebook:
    """Parse and validate codebook YAML; raise :class:`CodebookError` naming the line."""
    where = _Where(Path(path))
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        line, problem = yaml_problem(e)
        raise CodebookError(f"Codebook {path}{f', line {line}' if line else ''}: not valid YAML ({problem}).") from None
    if root is None:
        raise CodebookError(f"Codebook {path}: the file is empty.")
    top = _mapping(root, where, "the codebook", TOP_KEYS)
    name = _text(top.get("codebook"), where, "'codebook' (its name)", True, root)
    version = _text(top.get("version"), where, "'version'", True, root)
    dimension = _text(top.get("dimension"), where, "'dimension'", True, root)
    if dimension not in DIMENSIONS:
        raise where.error(top["dimension"][1], f"dimension '{dimension}' is not one of {', '.join(DIMENSIONS)}.")
    kind = _text(top.get("kind"), where, "'kind'", False, root)
    if kind not in ("", "stage_model"):
        raise where.error(top["kind"][1], f"kind '{kind}' is unknown; the only kind is 'stage_model'.")
    if kind == "stage_model" and dimension != "stage":
        raise where.error(top["kind"][1], "a stage_model must have dimension 'stage'.")
    if "codes" not in top:
        raise where.error(root, "'codes' is missing: list the codes under 'codes:'.")
    codes_node = top["codes"][1]
    if not isinstance(codes_node, SequenceNode) or not codes_node.value:
        raise where.error(codes_node, "'codes' must be a non-empty list of codes.")
    codes: list[Code] = []
    seen: dict[str, int] = {}
    orders: dict[int, str] = {}
    for node in codes_node.value:
        c = _mapping(node, where, "a code", CODE_KEYS)
        cid = _text(c.get("id"), where, "the code's 'id'", True, node)
        if not _ID.match(cid):
            raise where.error(c["id"][1], f"code id '{cid}' must be lower_snake_case (letters, digits, _).")
        if cid in seen:
            raise where.error(c["id"][1], f"code id '{cid}' is already used at line {seen[cid]}.")
        seen[cid] = node.start_mark.line + 1
        what = f"code '{cid}'"
        attributes: dict[str, Any] = {}
        order = None
        if "order" in c:
            order = _py(c["order"][1])
            if not isinstance(order, int) or isinstance(order, bool) or order < 1:
                raise where.error(c["order"][1], f"{what}: 'order' must be a whole number from 1.")
            if order in orders:
                raise where.error(c["order"][1], f"{what}: order {order} is already used by '{orders[order]}'.")
            orders[order] = cid
        elif kind == "stage_model":
            raise where.error(node, f"{what}: stage models need an 'order' (1 for the first stage).")
        if dimension == "emotion":
            family = _text(c.get("family"), where, f"{what}: 'family'", True, node)
            if family not in EKMAN_FAMILIES:
                raise where.error(c["family"][1], f"{what}: family '{family}' is not one of {', '.join(EKMAN_FAMILIES)}.")
            if "valence" not in c:
                raise where.error(node, f"{what}: 'valence' (-1..1) is missing.")
            valence = _py(c["valence"][1])
            if not isinstance(valence, (int, float)) or isinstance(valence, bool) or not -1 <= valence <= 1:
                raise where.error(c["valence"][1], f"{what}: valence must be a number from -1 to 1.")
            attributes.update(family=family, valence=float(valence))
        elif "family" in c or "valence" in c:
            raise where.error(node, f"{what}: 'family' and 'valence' belong to emotion codebooks only.")
        if "severity" in c:
            rubric = _py(c["severity"][1])
            if not isinstance(rubric, dict) or set(rubric) != {1, 2, 3}:
                raise where.error(c["severity"][1], f"{what}: 'severity' must describe levels 1, 2 and 3.")
            attributes["severity"] = {int(k): str(v) for k, v in rubric.items()}
        elif dimension == "pain_point":
            raise where.error(node, f"{what}: pain points need a 'severity' rubric with levels 1, 2 and 3.")
        if "stage" in c:
            if dimension != "activity":
                raise where.error(c["stage"][1], f"{what}: 'stage' (where the activity usually happens) belongs to "
                                                 "activity codebooks only.")
            attributes["stage"] = _text(c.get("stage"), where, f"{what}: 'stage'", True, node)
        codes.append(Code(
            code_id=cid, dimension=dimension,
            label=_text(c.get("label"), where, f"{what}: 'label'", True, node),
            definition=_text(c.get("definition"), where, f"{what}: 'definition'", True, node),
            include=_text(c.get("include"), where, f"{what}: 'include'", False, node),
            exclude=_text(c.get("exclude"), where, f"{what}: 'exclude'", False, node),
            examples=_by_language(c.get("examples"), where, f"{what}: 'examples'"),
            cues=_by_language(c.get("cues"), where, f"{what}: 'cues'"),
            parent=_text(c.get("parent"), where, f"{what}: 'parent'", False, node) or None,
            order=order, attributes=attributes, labels=_labels(c.get("labels"), where, f"{what}: 'labels'")))
    default = _text(top.get("default"), where, "'default'", False, root)
    if default and default not in seen:
        raise where.error(top["default"][1], f"default '{default}' is not a code of this codebook.")
    for code in codes:
        if code.parent and code.parent not in seen:
            raise CodebookError(f"Codebook {path}, line {seen[code.code_id]}: code '{code.code_id}' has parent "
                                f"'{code.parent}', which is not a code of this codebook.")
    severity_cues: dict[int, dict[str, tuple[str, ...]]] = {}
    if "severity_cues" in top:
        node = top["severity_cues"][1]
        if dimension != "pain_point":
            raise where.error(node, "'severity_cues' belong to pain point codebooks only.")
        if not isinstance(node, MappingNode):
            raise where.error(node, "'severity_cues' must map a level (1, 2, 3) to cues per language, e.g. {3: {en: [gave up]}}.")
        for k, v in node.value:
            level = _py(k)
            if level not in (1, 2, 3) or isinstance(level, bool):
                raise where.error(k, f"severity level {level!r} must be 1, 2 or 3.")
            severity_cues[int(level)] = _by_language((k, v), where, f"severity_cues {level}")
    activities = _text(top.get("activities"), where, "'activities'", False, root)
    if activities and kind != "stage_model":
        raise where.error(top["activities"][1], "'activities' (the codebook of what customers do at each stage) "
                                                "belongs to stage models only.")
    return Codebook(name=name, version=version, codes=codes, dimension=dimension, kind=kind, default=default,
                    description=_text(top.get("description"), where, "'description'", False, root),
                    severity_cues=severity_cues, activities=activities)


def load_codebook(path: str | Path) -> Codebook:
    """Load and validate a codebook file."""
    path = Path(path)
    if not path.is_file():
        raise CodebookError(f"No codebook file at {path}. Shipped codebooks: {', '.join(builtin_names())}.")
    stat = path.stat()
    cb = _load_cached(path, stat.st_mtime_ns, stat.st_size)
    activities = cb.activities
    if Path(activities).suffix in (".yaml", ".yml") and not Path(activities).is_absolute():
        activities = str((path.parent / activities).resolve())     # relative to the stage model's own file
    return dataclasses.replace(cb, codes=list(cb.codes), activities=activities)   # a caller may edit its copy


@functools.lru_cache(maxsize=64)
def _load_cached(path: Path, mtime_ns: int, size: int) -> Codebook:
    """Parsed codebooks by file and version of the file (a map resolves six codebooks per build)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise CodebookError(f"Codebook {path}: not UTF-8 text (byte {e.start}). Save it as UTF-8.") from None
    return parse_codebook(text, path)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def builtin_path(name: str) -> Path:
    path = BUILTIN_DIR / f"{name}.yaml"
    if not path.exists():
        raise CodebookError(f"No shipped codebook '{name}'; choose one of {', '.join(builtin_names())}, or pass a file path.")
    return path


def resolve(name_or_path: str) -> Codebook:
    """A shipped codebook by name (``pain_points``) or a researcher's file by path."""
    p = Path(name_or_path)
    return load_codebook(p if p.suffix in (".yaml", ".yml") or p.exists() else builtin_path(name_or_path))


def to_yaml(codebook: Codebook) -> str:
    """Write a codebook back to YAML (round-trips through :func:`parse_codebook`)."""
    def code_dict(c: Code) -> dict[str, Any]:
        d: dict[str, Any] = {"id": c.code_id, "label": c.label, "definition": c.definition}
        if c.labels:
            d["labels"] = dict(c.labels)
        for key in ("include", "exclude"):
            if getattr(c, key):
                d[key] = getattr(c, key)
        if c.examples:
            d["examples"] = {k: list(v) for k, v in c.examples.items()}
        if c.cues:
            d["cues"] = {k: list(v) for k, v in c.cues.items()}
        if c.parent:
            d["parent"] = c.parent
        if c.order is not None:
            d["order"] = c.order
        for key in ("family", "valence", "severity", "stage"):
            if key in c.attributes:
                d[key] = c.attributes[key]
        return d

    doc: dict[str, Any] = {"codebook": codebook.name, "version": codebook.version, "dimension": codebook.dimension}
    if codebook.kind:
        doc["kind"] = codebook.kind
    if codebook.description:
        doc["description"] = codebook.description
    if codebook.default:
        doc["default"] = codebook.default
    if codebook.activities:
        doc["activities"] = codebook.activities
    if codebook.severity_cues:
        doc["severity_cues"] = {level: {k: list(v) for k, v in cues.items()} for level, cues in sorted(codebook.severity_cues.items())}
    doc["codes"] = [code_dict(c) for c in codebook.codes]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


# ------------------------------------------------------------------------------- editing
# Edits return a new, validated codebook (the YAML round trip runs the same checks as loading a
# file), so an editor never holds a codebook it could not save and load again.
def validated(codebook: Codebook) -> Codebook:
    """The codebook after a YAML round trip; raises CodebookError with the loader's message if invalid."""
    return parse_codebook(to_yaml(codebook), f"<codebook {codebook.name}>")


def _split(items: str | Any) -> tuple[str, ...]:
    if isinstance(items, str):
        items = re.split(r"[;\n]", items)
    return tuple(s.strip() for s in items if str(s).strip())


def edit_code(codebook: Codebook, code_id: str, label: str | None = None, definition: str | None = None,
              cues: dict[str, Any] | None = None, examples: dict[str, Any] | None = None) -> Codebook:
    """Change a code's label, definition, cues or examples (per language; a string is split on ';')."""
    old = codebook.get(code_id)
    new = dataclasses.replace(
        old, label=old.label if label is None else label.strip(),
        definition=old.definition if definition is None else definition.strip(),
        cues=old.cues if cues is None else {k: _split(v) for k, v in cues.items() if _split(v)},
        examples=old.examples if examples is None else {k: _split(v) for k, v in examples.items() if _split(v)})
    return validated(dataclasses.replace(codebook, codes=[new if c.code_id == code_id else c for c in codebook.codes]))


def add_code(codebook: Codebook, code_id: str, label: str, definition: str = "", cues: dict[str, Any] | None = None,
             examples: dict[str, Any] | None = None, **attributes: Any) -> Codebook:
    """A new code in the codebook's dimension (ids are lower-case words joined by '_').

    ``attributes``: what the dimension needs, e.g. ``severity={1: …, 2: …, 3: …}`` for a pain point,
    ``family`` and ``valence`` for an emotion; the validation message says what is missing.
    """
    code_id = code_id.strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]*", code_id):
        raise CodebookError(f"Code id {code_id!r}: use lower-case letters, digits and '_' (e.g. 'late_delivery').")
    if any(c.code_id == code_id for c in codebook.codes):
        raise CodebookError(f"Codebook {codebook.name!r} already has a code {code_id!r}; edit it or choose another id.")
    order = None
    if codebook.kind == "stage_model":
        order = max((c.order or 0 for c in codebook.codes), default=0) + 1
    code = Code(code_id, codebook.dimension or codebook.codes[0].dimension, label.strip() or code_id, definition.strip(),
                cues={k: _split(v) for k, v in (cues or {}).items() if _split(v)},
                examples={k: _split(v) for k, v in (examples or {}).items() if _split(v)}, order=order,
                attributes=dict(attributes))
    return validated(dataclasses.replace(codebook, codes=[*codebook.codes, code]))


def merge_codes(codebook: Codebook, keep: str, drop: str) -> Codebook:
    """Merge ``drop`` into ``keep``: cues and examples are pooled, children of ``drop`` move to ``keep``.

    Recode what a study already holds with ``Store.recode(dimension, drop, keep)``.
    """
    if keep == drop:
        raise CodebookError("Pick two different codes to merge.")
    a, b = codebook.get(keep), codebook.get(drop)

    def pool(x: dict, y: dict) -> dict:
        return {k: tuple(dict.fromkeys([*x.get(k, ()), *y.get(k, ())])) for k in sorted(set(x) | set(y))}

    merged = dataclasses.replace(a, cues=pool(a.cues, b.cues), examples=pool(a.examples, b.examples),
                                 definition=a.definition or b.definition)
    codes = [merged if c.code_id == keep else dataclasses.replace(c, parent=keep) if c.parent == drop else c
             for c in codebook.codes if c.code_id != drop]
    default = keep if codebook.default == drop else codebook.default
    return validated(dataclasses.replace(codebook, codes=codes, default=default))


def save_codebook(codebook: Codebook, path: str | Path) -> Path:
    """Write the codebook as YAML, atomically (a crash leaves the old file intact)."""
    from .files import atomic_write

    path = Path(path)
    atomic_write(path, to_yaml(validated(codebook)))
    return path
