"""Stakeholder comments on journey-map claims: stored in the study, keyed by the claim's stable id.

    >>> add_comment(store, "purchase.pain_points.waiting", "We see this in the branch too.", "ana")   # doctest: +SKIP
    >>> list_comments(store)                                                                       # doctest: +SKIP
    >>> import_comments(store, Path("comments.json"))                                              # doctest: +SKIP

A comment is on a claim (its ``claim_id``, e.g. ``service.pain_points.waiting``) or on one quote under
it (``excerpt_id``), with an author, a time (ISO 8601, UTC) and a text. Its id is a hash of those
five fields, so adding or importing the same comment twice stores it once.

The offline report lets a reader add comments in the page and download them as one JSON file
(:data:`FORMAT`, version 1)::

    {"format": "journey-workbench-comments", "version": 1, "study": "…",
     "comments": [{"claim_id": "…", "excerpt_id": null, "author": "…", "created": "2024-05-01T09:30:00Z",
                   "text": "…"}]}

:func:`import_comments` takes that file back: it is validated strictly (:func:`read_comments_file`), every
claim id must be one of the study's (its current map, any segment's, any stored snapshot's), and the
comments go in in one transaction: an unknown claim or quote imports nothing.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from .errors import InputError, WorkbenchError
from .store import Store

FORMAT = "journey-workbench-comments"
VERSION = 1
MAX_TEXT = 10_000                 # characters in one comment
MAX_AUTHOR = 200                  # characters in an author's name
MAX_FILE_BYTES = 5 * 1024 * 1024  # a comments file
FIELDS = ("claim_id", "excerpt_id", "author", "created", "text")
COLUMNS = ["comment_id", "claim_id", "excerpt_id", "author", "created", "text", "origin"]


def comment_id_for(claim_id: str, excerpt_id: str | None, author: str, created: str, text: str) -> str:
    """The comment's id: a hash of what it says, where and by whom, and when (same comment → same id)."""
    key = "\0".join([claim_id, excerpt_id or "", author, created, text])
    return "K" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def normalise_time(value: object, where: str = "created") -> str:
    """An ISO 8601 time with a time zone, as UTC to the second: ``2024-05-01T09:30:00Z``."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: the time is missing; give it as ISO 8601 UTC, e.g. 2024-05-01T09:30:00Z.")
    raw = value.strip()
    try:
        t = _dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in "zZ" else raw)
    except ValueError:
        raise InputError(f"{where}: {raw[:40]!r} is not an ISO 8601 time; give it as UTC, e.g. "
                         "2024-05-01T09:30:00Z.") from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise InputError(f"{where}: {raw[:40]!r} has no time zone; give it in UTC, e.g. 2024-05-01T09:30:00Z.")
    return t.astimezone(_dt.timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _checked(claim_id: object, excerpt_id: object, author: object, created: object, text: object,
             where: str) -> dict:
    """One comment's fields, checked and normalised (stripped author and ids, UTC time)."""
    for name, value in (("claim_id", claim_id), ("author", author), ("text", text)):
        if not isinstance(value, str):
            raise InputError(f"{where}: {name} must be text, not {type(value).__name__}.")
    if excerpt_id is not None and not isinstance(excerpt_id, str):
        raise InputError(f"{where}: excerpt_id must be a quote's excerpt id or null, not {type(excerpt_id).__name__}.")
    claim_id, author = claim_id.strip(), " ".join(author.split())
    if not claim_id:
        raise InputError(f"{where}: claim_id is empty; give the claim's id, e.g. service.pain_points.waiting.")
    if not author:
        raise InputError(f"{where}: the author is empty; say who wrote the comment.")
    if len(author) > MAX_AUTHOR:
        raise InputError(f"{where}: the author's name has {len(author):,} characters; at most {MAX_AUTHOR} are allowed.")
    if not text.strip():
        raise InputError(f"{where}: the comment's text is empty; write the comment, or leave it out.")
    if len(text) > MAX_TEXT:
        raise InputError(f"{where}: the comment has {len(text):,} characters; at most {MAX_TEXT:,} are allowed, "
                         "so split it into shorter comments.")
    excerpt_id = (excerpt_id or "").strip() or None
    return {"claim_id": claim_id, "excerpt_id": excerpt_id, "author": author,
            "created": normalise_time(created, f"{where}: created"), "text": text.strip()}


def _insert(con, rows: Iterable[dict], origin: str) -> tuple[int, int]:
    added = existing = 0
    for r in rows:
        cid = comment_id_for(r["claim_id"], r["excerpt_id"], r["author"], r["created"], r["text"])
        cur = con.execute("INSERT OR IGNORE INTO comments (comment_id, claim_id, excerpt_id, author, created, text, origin) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (cid, r["claim_id"], r["excerpt_id"], r["author"], r["created"], r["text"], origin))
        if cur.rowcount:
            added += 1
        else:
            existing += 1
    return added, existing


def add_comment(store: Store, claim_id: str, text: str, author: str, excerpt_id: str | None = None,
                created: str | None = None, origin: str = "cli") -> str:
    """Store one comment on a claim (or on one of its quotes, ``excerpt_id``); returns its id.

    ``created`` (ISO 8601 with a time zone) defaults to now, in UTC. The claim id is taken as given (a
    comment may be on a claim of a segment's map or a stored snapshot); a quote must be one of the
    study's excerpts. The same comment added again is stored once."""
    row = _checked(claim_id, excerpt_id, author, created if created is not None else _now(), text, "comment")
    _check_excerpts(store, [row], "comment")
    with store.transaction() as con:
        _insert(con, [row], origin)
    return comment_id_for(row["claim_id"], row["excerpt_id"], row["author"], row["created"], row["text"])


def list_comments(store: Store, claim_id: str | None = None) -> pd.DataFrame:
    """The study's comments (all, or one claim's), ordered by claim, then time: :data:`COLUMNS`."""
    where, params = ("WHERE claim_id = ?", [claim_id]) if claim_id else ("", [])
    rows = store.con.execute(f"SELECT {', '.join(COLUMNS)} FROM comments {where} "
                             "ORDER BY claim_id, created, comment_id", params).fetchall()
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)


def for_report(store: Store) -> pd.DataFrame:
    """The comments to pass to :func:`workbench.report.write_report` (``comments=``)."""
    return list_comments(store)


def read_comments_file(path: str | Path) -> list[dict]:
    """The comments of a file in the report's format (:data:`FORMAT`), validated and normalised.

    Each is ``{"claim_id", "excerpt_id" (or None), "author", "created" (UTC, to the second), "text"}``.
    Raises a one-line :class:`InputError` that names the file (and the comment) and says what to do:
    not JSON, not this format, a missing or empty field, a text over 10,000 characters, a file over
    5 MB, a time that is not ISO 8601 with a time zone."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; give the comments file the report downloaded (comments.json).") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e}).") from None
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the comments file the report downloaded (comments.json).")
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path}: {size / 1024 / 1024:.1f} MB is too big for a comments file (at most 5 MB); "
                         "split the comments into several files.")
    try:
        raw = path.read_bytes()
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; give the JSON file the report's "
                         "\"Download comments (JSON)\" button saved.") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not JSON (line {e.lineno}, column {e.colno}: {e.msg}); give the file the report's "
                         "\"Download comments (JSON)\" button saved.") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path} is not a comments file: expected a JSON object with \"format\": \"{FORMAT}\", as the "
                         "report's \"Download comments (JSON)\" button saves it.")
    if doc.get("version") != VERSION:
        raise InputError(f"{path}: comments file version {doc.get('version')!r}; this workbench reads version {VERSION}. "
                         "Upgrade the workbench, or download the comments again from a report it made.")
    comments = doc.get("comments")
    if not isinstance(comments, list):
        raise InputError(f"{path}: \"comments\" must be a list of comments (each with claim_id, author, created, text).")
    out = []
    for k, c in enumerate(comments, 1):
        where = f"{path}, comment {k}"
        if not isinstance(c, dict):
            raise InputError(f"{where}: a comment must be an object with claim_id, excerpt_id, author, created, text.")
        missing = [f for f in FIELDS if f != "excerpt_id" and f not in c]
        if missing:
            raise InputError(f"{where}: missing {', '.join(missing)}; each comment needs claim_id, author, created "
                             "and text (excerpt_id is optional).")
        out.append(_checked(c["claim_id"], c.get("excerpt_id"), c["author"], c["created"], c["text"], where))
    return out


def file_study(path: str | Path) -> str | None:
    """The study name a comments file says it came from (None when it names none)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    name = doc.get("study") if isinstance(doc, dict) else None
    return name if isinstance(name, str) and name else None


def known_claim_ids(store: Store) -> set[str]:
    """The claim ids a comment can be on: the study's current map and each segment's map (as ``workbench map``
    builds them), plus the claims of every stored snapshot."""
    from .journey import build_map, load_map_inputs

    known: set[str] = set()
    try:
        inputs = load_map_inputs(store)
    except WorkbenchError:          # not coded yet: no map; snapshots may still hold claims
        inputs = None
    if inputs is not None:
        for segment in [None, *inputs.segments]:
            for include in (True, False):           # the map, and the --accepted-only map
                try:
                    jm = build_map(inputs, segment=segment, include_suggested=include, n_boot=2)
                except WorkbenchError:              # nothing to map (e.g. no decision yet for --accepted-only)
                    continue
                known |= {c.claim_id for c in jm.claims}
    for (body,) in store.con.execute("SELECT body FROM map_snapshots"):
        try:
            claims = json.loads(body).get("claims", [])
        except (ValueError, AttributeError):
            continue
        known |= {c["claim_id"] for c in claims if isinstance(c, dict) and isinstance(c.get("claim_id"), str)}
    return known


def _check_excerpts(store: Store, rows: list[dict], what: str) -> None:
    ids = sorted({r["excerpt_id"] for r in rows if r["excerpt_id"]})
    if not ids:
        return
    have = set(store.excerpts_of(ids)["excerpt_id"])
    unknown = [i for i in ids if i not in have]
    if unknown:
        raise InputError(f"{what}: {len(unknown)} quote id(s) are not excerpts of {store.path.name}: "
                         f"{', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}; nothing was imported. "
                         "Comment on a quote the study's report shows, or leave excerpt_id null.")


@dataclass
class CommentImport:
    """What :func:`import_comments` did."""

    path: str
    added: int = 0
    existing: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        n = self.added + self.existing
        text = (f"Imported {n} comment{'s' * (n != 1)} from {self.path}: {self.added} added, "
                f"{self.existing} already in the study.")
        return "\n".join([text, *(f"note: {x}" for x in self.notes)])


def import_comments(store: Store, path: str | Path, known_claims: set[str] | None = None) -> CommentImport:
    """Import a comments file (the report's download) into the study, all or nothing.

    ``known_claims`` defaults to :func:`known_claim_ids`. A comment on an unknown claim (or a quote that is
    not one of the study's excerpts) imports nothing and names the ids; otherwise every comment goes in
    in one transaction, and those already there (same claim, quote, author, time and text) are counted,
    not repeated."""
    rows = read_comments_file(path)
    summary = CommentImport(str(path))
    if not rows:
        summary.notes.append("the file holds no comments.")
        return summary
    known = known_claim_ids(store) if known_claims is None else set(known_claims)
    unknown = sorted({r["claim_id"] for r in rows} - known)
    if unknown:
        raise InputError(f"{path}: {len(unknown)} claim id(s) are not claims of {store.path.name}: "
                         f"{', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}; nothing was imported. "
                         "Import the file into the study its report was made from, or fix those claim ids.")
    _check_excerpts(store, rows, str(path))
    name = file_study(path)
    study = store.info().get("name", store.path.stem)
    if name is not None and name != study:
        summary.notes.append(f"the file says it came from the study {name!r}; this one is {study!r}.")
    with store.transaction() as con:
        summary.added, summary.existing = _insert(con, rows, "report")
    return summary


def comments_document(study: str, comments: pd.DataFrame | Iterable[dict]) -> dict:
    """Comments as the report's JSON document (:data:`FORMAT`), e.g. to hand a file to another study."""
    rows = comments.to_dict("records") if isinstance(comments, pd.DataFrame) else list(comments)
    return {"format": FORMAT, "version": VERSION, "study": study,
            "comments": [{"claim_id": r["claim_id"], "excerpt_id": r.get("excerpt_id") or None, "author": r["author"],
                          "created": r["created"], "text": r["text"]} for r in rows]}


__all__ = ["FORMAT", "VERSION", "COLUMNS", "CommentImport", "add_comment", "list_comments", "for_report",
           "read_comments_file", "import_comments", "known_claim_ids", "comments_document", "comment_id_for",
           "normalise_time"]
