"""Groups to compare journeys by: any source or conversation attribute.

A comparison is written as one *spec* string, so a map's settings (and a stored snapshot) say
exactly which groups it drew:

* ``outcome`` — one group per value of the attribute (``--groups A,B`` picks some);
* ``csat<=2`` — a threshold: the sources where it holds, and the others that have a value
  (``<``, ``<=``, ``>``, ``>=``, ``=``, ``!=``);
* ``csat:1-2,3,4-5`` — numeric bands, inclusive (``--bands csat:1-2,3,4-5``);
* ``date:2026-02,2026-03`` — date waves: each wave is an ISO date prefix (a year, a month, a day)
  or a range ``2026-02-01..2026-02-15`` (``--compare-by date --waves 2026-02,2026-03``).

Attributes are the sources' columns (``segment``, ``channel``, ``date``, ``language``, ``kind``,
``participant``) and every metadata key a reader stored (a call log's ``outcome``, ``csat``,
``agent_team``; an interview's ``recruited_via``; user-defined ones). A call log has a source per
conversation, so a conversation's attributes are its source's.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from .errors import InputError

#: source columns that are attributes (besides every metadata key)
SOURCE_ATTRIBUTES = ("segment", "channel", "date", "language", "kind", "participant")
#: more distinct values than this and a plain comparison asks for --groups or --bands
MAX_GROUPS = 12
_THRESHOLD = re.compile(r"^\s*([^<>=!:]+?)\s*(<=|>=|!=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {"<": lambda v, t: v < t, "<=": lambda v, t: v <= t, ">": lambda v, t: v > t, ">=": lambda v, t: v >= t,
        "=": lambda v, t: v == t, "!=": lambda v, t: v != t}
_NOT = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}
_BAND = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-\s*(-?\d+(?:\.\d+)?))?\s*$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class Grouping:
    """How a study's sources fall into groups (parsed from a spec by :func:`parse_grouping`)."""

    spec: str
    attribute: str
    kind: str                           # "values" | "threshold" | "bands" | "waves"
    parts: tuple = ()                   # threshold: (op, number); bands: ((lo, hi), ...); waves: ((lo, hi), ...)
    labels: tuple[str, ...] = ()        # the groups, in order ("values": filled from the data)

    def assign(self, values: pd.Series) -> pd.Series:
        """The group label of each value (None: in no group), same index."""
        if self.kind == "values":
            text = values.map(_text)
            return text.where(text.isin(self.labels) if self.labels else text.notna(), None)
        if self.kind in ("threshold", "bands"):
            num = pd.to_numeric(values, errors="coerce")
            out = pd.Series([None] * len(values), index=values.index, dtype=object)
            if self.kind == "threshold":
                op, t = self.parts
                ok = num.notna()
                hit = ok & _OPS[op](num, t)
                out[hit] = self.labels[0]
                out[ok & ~hit] = self.labels[1]
                return out
            for (lo, hi), label in zip(self.parts, self.labels):
                out[(num >= lo) & (num <= hi) & out.isna()] = label
            return out
        text = values.map(_text).fillna("")
        out = pd.Series([None] * len(values), index=values.index, dtype=object)
        day = text.str.slice(0, 10)
        for (lo, hi), label in zip(self.parts, self.labels):
            hit = (day != "") & (day >= lo) & (day <= hi) & out.isna()
            out[hit] = label
        return out

    def with_labels(self, values: pd.Series, groups: tuple[str, ...] | None = None) -> "Grouping":
        """For a "values" grouping: its groups from the data (sorted), or the ones asked for (checked)."""
        if self.kind != "values":
            if groups:
                unknown = [g for g in groups if g not in self.labels]
                if unknown:
                    raise InputError(f"No group {', '.join(map(repr, unknown))} in {self.spec!r}; its groups are: "
                                     f"{', '.join(self.labels)}.")
                return Grouping(self.spec, self.attribute, self.kind, self.parts,
                                tuple(g for g in self.labels if g in groups))
            return self
        present = sorted(set(values.map(_text).dropna()))
        if groups:
            unknown = [g for g in groups if g not in present]
            if unknown:
                raise InputError(f"No {self.attribute} {', '.join(map(repr, unknown))} in this study; its values are: "
                                 f"{', '.join(present[:20]) or '(none)'}.")
            return Grouping(self.spec, self.attribute, self.kind, (), tuple(groups))
        if len(present) > MAX_GROUPS:
            raise InputError(f"{self.attribute} has {len(present)} values: pick some with --groups A,B, or give numeric "
                             f"bands (--bands {self.attribute}:1-2,3,4-5) or date waves (--waves 2026-02,2026-03).")
        return Grouping(self.spec, self.attribute, self.kind, (), tuple(present))


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    return s or None


def _num(s: str) -> float:
    return float(s)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_grouping(compare_by: str, bands: str | None = None, waves: str | None = None) -> Grouping:
    """A :class:`Grouping` from the CLI's words (``--compare-by``, ``--bands``, ``--waves``) or a spec."""
    spec = (compare_by or "").strip()
    if bands:
        attr, _, rest = bands.partition(":")
        if not rest or (spec and spec != attr.strip()):
            raise InputError(f"--bands takes ATTRIBUTE:BANDS, e.g. --bands csat:1-2,3,4-5 (got {bands!r}"
                             + (f" with --compare-by {spec}" if spec else "") + ").")
        spec = f"{attr.strip()}:{rest.strip()}"
    elif waves:
        if not spec:
            raise InputError("--waves needs --compare-by DATE_ATTRIBUTE, e.g. --compare-by date --waves 2026-02,2026-03.")
        spec = f"{spec}:{waves.strip()}"
    if not spec:
        raise InputError("Say what to compare by, e.g. --compare-by outcome, --compare-by 'csat<=2', or --bands csat:1-2,3,4-5.")
    m = _THRESHOLD.match(spec)
    if m:
        attr, op, t = m.group(1).strip(), m.group(2), _num(m.group(3))
        return Grouping(spec, attr, "threshold", (op, t), (f"{attr}{op}{_fmt(t)}", f"{attr}{_NOT[op]}{_fmt(t)}"))
    if ":" in spec:
        attr, _, rest = spec.partition(":")
        attr = attr.strip()
        items = [x.strip() for x in rest.split(",") if x.strip()]
        if not attr or not items:
            raise InputError(f"Cannot read the groups in {spec!r}: write bands as csat:1-2,3,4-5 or waves as date:2026-02,2026-03.")
        wave = bool(waves) or attr.lower().endswith("date") or any(".." in x or (_DATE.match(x) and len(x) >= 7)
                                                                     for x in items)
        if not wave:
            bad = [x for x in items if not _BAND.match(x)]
            if bad:
                raise InputError(f"Band {bad[0]!r} is not a number or a range: write bands as {attr}:1-2,3,4-5.")
            parts, labels = [], []
            for x in items:
                b = _BAND.match(x)
                lo = _num(b.group(1))
                hi = _num(b.group(2)) if b.group(2) is not None else lo
                if hi < lo:
                    raise InputError(f"Band {x!r} runs backwards: write it low-high, e.g. 1-2.")
                parts.append((lo, hi))
                labels.append(f"{attr} {_fmt(lo)}" + (f"-{_fmt(hi)}" if hi != lo else ""))
            return Grouping(spec, attr, "bands", tuple(parts), tuple(labels))
        parts, labels = [], []
        for x in items:
            lo, sep, hi = x.partition("..")
            lo, hi = lo.strip(), (hi.strip() if sep else lo.strip())
            if not (_DATE.match(lo) and _DATE.match(hi)):
                raise InputError(f"Wave {x!r} is not a date prefix or range: write 2026-02, 2026-02-15 or "
                                 "2026-02-01..2026-02-15.")
            parts.append((_start(lo), _end(hi)))
            labels.append(x)
        return Grouping(spec, attr, "waves", tuple(parts), tuple(labels))
    return Grouping(spec, spec, "values")


def _start(prefix: str) -> str:
    return (prefix + "-01-01"[len(prefix) - 4:]) if len(prefix) < 10 else prefix


def _end(prefix: str) -> str:
    return (prefix + "-12-31"[len(prefix) - 4:]) if len(prefix) < 10 else prefix


def source_attributes(store, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The sources' attributes, one row per source (index ``source_id``): ``names`` only (all when None).

    Metadata keys are read by SQLite's JSON functions, so a study of 100,000 conversations is read in
    one query; values keep their JSON type (numbers stay numbers)."""
    known = attribute_names(store)
    names = tuple(known) if names is None else tuple(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"No attribute {', '.join(map(repr, unknown))} in this study; it has: {', '.join(known) or '(none)'}.")
    cols = ["source_id"]
    for n in names:
        if n in SOURCE_ATTRIBUTES:
            cols.append(f'"{n}"')
        else:
            key = n.replace('"', '""')
            cols.append(f"CASE WHEN json_valid(meta) THEN json_extract(meta, '$.\"{key}\"') END")
    rows = store.con.execute(f"SELECT {', '.join(cols)} FROM sources ORDER BY source_id").fetchall()
    return pd.DataFrame(rows, columns=["source_id", *names]).set_index("source_id")


def attribute_names(store) -> list[str]:
    """Every attribute the study's sources have a value for: source columns, then metadata keys."""
    have = [c for c in SOURCE_ATTRIBUTES
            if store.con.execute(f'SELECT 1 FROM sources WHERE "{c}" IS NOT NULL AND "{c}" != \'\' LIMIT 1').fetchone()]
    keys = [r[0] for r in store.con.execute(
        "SELECT DISTINCT j.key FROM sources, json_each(CASE WHEN json_valid(sources.meta) THEN sources.meta ELSE '{}' END) j "
        "ORDER BY j.key").fetchall()]
    return have + [k for k in keys if k not in have]


__all__ = ["Grouping", "parse_grouping", "source_attributes", "attribute_names", "SOURCE_ATTRIBUTES", "MAX_GROUPS"]
