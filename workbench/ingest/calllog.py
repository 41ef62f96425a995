"""Call-centre, chat and ticket logs as CSV, TSV or JSONL.

Two layouts:

* ``utterance`` — one row per utterance, grouped into conversations by a conversation column;
* ``call`` — one row per call/ticket/post, its text either a whole transcript (with speaker
  labels) or one customer message.

Columns are found by common names (``conversation_id``, ``role``, ``speaker``, ``text``,
``timestamp``…) or set explicitly with :class:`CallLogColumns`. Every other column is kept:
values constant within a conversation (channel, segment, CSAT, NPS, CES, outcome, team) go to the
source, values that vary (timestamps, per-message scores) to the turn. Each conversation becomes
one source, so maps can count distinct conversations as support.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..decode import normalise
from ..errors import InputError
from ..model import Source, Turn
from ..tables import parse_table
from .base import CallLogColumns, ReadOptions, TextBuilder, decode_text, register, rendered_turn
from .speakers import role_word
from .transcript import split_turns

GUESSES: dict[str, tuple[str, ...]] = {
    "text": ("text", "utterance", "message", "body", "content", "transcript", "comment", "verbatim",
             "texto", "mensaje", "comentario", "tweet", "post"),
    "conversation": ("conversation_id", "conversation", "call_id", "ticket_id", "chat_id", "session_id",
                     "case_id", "thread_id", "interaction_id", "id_conversacion", "conversacion", "llamada_id"),
    "speaker": ("speaker", "author", "sender", "from", "speaker_name", "name", "hablante", "autor"),
    "role": ("role", "speaker_role", "party", "participant_role", "sender_type", "rol"),
    "timestamp": ("timestamp", "time", "datetime", "created_at", "sent_at", "ts", "fecha_hora", "hora"),
}
_SOURCE_FIELDS = {
    "channel": ("channel", "canal", "source_channel"),
    "segment": ("segment", "persona", "segmento", "customer_segment"),
    "participant": ("customer_id", "participant", "participant_id", "client_id", "cliente_id", "user_id"),
    "date": ("date", "fecha", "call_date"),
}
_ROLE_VALUES = {
    "agent": {"agent", "rep", "representative", "advisor", "adviser", "operator", "staff", "employee",
              "asesor", "asesora", "agente", "operador", "operadora", "support", "brand"},
    "customer": {"customer", "client", "caller", "user", "consumer", "member", "cliente", "usuario",
                 "usuaria", "participant"},
    "bot": {"bot", "chatbot", "ivr", "system", "auto", "automated", "virtual_agent", "sistema"},
}
_NESTED = ("messages", "turns", "utterances", "mensajes")


def _role(value: str | None, speaker: str | None) -> str:
    v = (value or "").strip().lower()
    for role, names in _ROLE_VALUES.items():
        if v in names:
            return role
    if v:
        w = role_word(v)
        if w in ("agent", "bot"):
            return w
    w = role_word(speaker or "") if speaker else None
    if w in ("agent", "bot"):
        return w
    return "customer"


def _find(columns: list[str], wanted: str | None, kind: str, path: Path, required: bool) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    if wanted:
        if wanted in columns:
            return wanted
        if wanted.lower() in lower:
            return lower[wanted.lower()]
        raise InputError(f"Cannot read {path}: no column {wanted!r} for the {kind}; the file has columns: "
                         f"{', '.join(columns)}. Pass --{kind}-column with one of them.")
    for g in GUESSES[kind]:
        if g in lower:
            return lower[g]
    if required:
        raise InputError(f"Cannot read {path}: no {kind} column found; the file has columns: {', '.join(columns)}. "
                         f"Name it with --{kind}-column COLUMN.")
    return None


def _rows(text: str, path: Path, fmt: str, delimiter: str | None) -> tuple[list[str], Iterable[tuple[int, dict[str, Any]]]]:
    """Columns and ``(line, row)`` pairs; a JSONL line with a list of messages gives one row per message."""
    table = parse_table(text, path, fmt, delimiter)
    if fmt != "jsonl":
        return table.columns, table.records()
    out: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    for n, obj in table.records():
        nested = next((k for k in _NESTED if isinstance(obj.get(k), list)), None)
        if nested:
            outer = {k: v for k, v in obj.items() if k != nested}
            for m in obj[nested]:
                if not isinstance(m, dict):
                    raise InputError(f"Cannot read {path}: line {n}: every item of {nested!r} must be an object.")
                row = {**outer, **m}
                out.append((n, row))
                columns.update(dict.fromkeys(row))
        else:
            out.append((n, obj))
            columns.update(dict.fromkeys(obj))
    return list(columns), out


def _str(v: Any) -> str:
    if type(v) is str:  # the common case (every CSV cell): keep it cheap, it runs per cell
        return v
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _scalar(v: str) -> Any:
    """Keep numbers as numbers (CSAT 4, NPS 9) so metrics can be computed later."""
    s = v.strip()
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def _read(data: bytes, path: Path, options: ReadOptions, fmt: str) -> list[Source]:
    header, rows = _rows(decode_text(data, path, options), path, fmt, options.delimiter)
    cols: CallLogColumns = options.columns
    text_col = _find(header, cols.text, "text", path, required=True)
    conv_col = _find(header, cols.conversation, "conversation", path, required=False)
    speaker_col = _find(header, cols.speaker, "speaker", path, required=False)
    role_col = _find(header, cols.role, "role", path, required=False)
    ts_col = _find(header, cols.timestamp, "timestamp", path, required=False)
    structural = {c for c in (text_col, conv_col, speaker_col, role_col, ts_col) if c}
    extra = [c for c in header if c not in structural]

    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for n, row in rows:
        key = _str(row.get(conv_col)).strip() if conv_col else ""
        if not key or options.layout == "call":
            key = f"row{n}"
        groups.setdefault(key, []).append((n, row))
    if not groups:
        raise InputError(f"Cannot read {path}: it has a header but no rows.")

    sources = []
    for key, items in groups.items():
        builder = TextBuilder()
        turns: list[Turn] = []
        src_meta: dict[str, Any] = {}
        for c in extra:
            vals = {_str(r.get(c)) for _, r in items}
            if len(vals) == 1:
                v = _scalar(vals.pop())
                if v is not None:
                    src_meta[c] = v
        varying = [c for c in extra if c not in src_meta and any(_str(r.get(c)).strip() for _, r in items)]
        for n, row in items:
            raw = row.get(text_col)
            # CSV cells are slices of the already-normalised file text; JSON strings may hold escapes.
            utterance = raw.rstrip() if fmt != "jsonl" and type(raw) is str else normalise(_str(raw))
            if not utterance.strip():
                continue
            speaker = _str(row.get(speaker_col)).strip() if speaker_col else ""
            role = _role(_str(row.get(role_col)) if role_col else None, speaker)
            meta = {c: _scalar(_str(row.get(c))) for c in varying if _str(row.get(c)).strip()}
            if ts_col and _str(row.get(ts_col)).strip():
                meta["timestamp"] = _str(row.get(ts_col)).strip()
            meta["line"] = n
            if len(items) == 1 and not speaker_col and not role_col:
                # one row per call whose text may itself be a labelled transcript
                inner = split_turns(utterance)
                if inner:
                    base, _ = builder.add(utterance)
                    builder.add("\n")
                    for t in inner:
                        t.start += base
                        t.end += base
                        if t.role == "participant":
                            t.role = "customer"
                        t.meta = dict(meta)
                    turns.extend(inner)
                    continue
            turns.append(rendered_turn(builder, speaker or role, role, utterance, meta=meta))
        if not turns:
            continue
        fields = {f: next((src_meta.pop(c) for c in list(src_meta) if c.lower() in names), None)
                  for f, names in _SOURCE_FIELDS.items()}
        display = key if not key.startswith("row") or conv_col else f"line {items[0][0]}"
        sources.append(Source(
            name=f"{path.name}#{display}", kind="call_log", text=builder.text(), turns=turns, key=key,
            participant=_str(fields["participant"]) or (key if conv_col else None),
            segment=_str(fields["segment"]) or None, channel=_str(fields["channel"]) or None,
            date=_str(fields["date"]) or _first_date(items, ts_col), meta=src_meta,
        ))
    if not sources:
        raise InputError(f"Cannot read {path}: every row's {text_col!r} column is empty.")
    return sources


def _first_date(items: list[tuple[int, dict[str, Any]]], ts_col: str | None) -> str | None:
    if not ts_col:
        return None
    v = _str(items[0][1].get(ts_col)).strip()
    return v[:10] if len(v) >= 10 and v[4] == "-" else None


@register("call_log", version=1, extensions=(".csv",), kind="call_log")
def read_csv(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    fmt = "tsv" if path.suffix.lower() in (".tsv", ".tab") else "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    return _read(data, path, options, fmt)


@register("call_log_tsv", version=1, extensions=(".tsv", ".tab"), kind="call_log")
def read_tsv(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    return _read(data, path, options, "tsv")


@register("call_log_jsonl", version=1, extensions=(".jsonl", ".ndjson"), kind="call_log")
def read_jsonl(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    return _read(data, path, options, "jsonl")
