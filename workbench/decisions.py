"""Which coding counts: the one statement of "a human decision wins".

Every reader of codings asks this module — the store when it saves suggestions, the review
queue and its counts, the map, themes and agreement — so the rule is written once:

* A coder is **human** when its id starts with ``human:`` (``human:ana``); any other coder is a
  machine, named with its version (``rules@1``). Machine ids of one family (``rules@1``,
  ``rules@2``) are the same coder at different versions.
* An excerpt and dimension is **decided** once any human coding (accepted or rejected) exists for
  it. A decided excerpt and dimension takes no new machine suggestions and leaves the review queue.
* What **counts** (on a map, in themes): every accepted human coding; a machine suggestion only
  when no human accepted a code for that excerpt and dimension and no human rejected that very
  code; of several machine coders the one with the most confident suggestion (ties: coder name),
  with every code it suggested there (a coder may suggest several: the embedding coder's emotions).

The rule exists in two renderings that must agree: array code over a DataFrame of codings
(:func:`effective_codings`, :func:`undecided`) and SQL fragments the store runs
(:func:`sql_is_human`, :func:`sql_undecided`). ``tests/test_decisions.py`` checks they agree.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError

HUMAN_PREFIX = "human:"


def human_coder(name: str) -> str:
    """``"ana"`` or ``"human:ana"`` → ``"human:ana"``; a blank name is refused."""
    name = str(name).strip()
    if not name or name == HUMAN_PREFIX.rstrip(":") or name == HUMAN_PREFIX:
        raise InputError("Say who decides: a coder name such as 'ana' (stored as human:ana).")
    return name if name.startswith(HUMAN_PREFIX) else HUMAN_PREFIX + name


def is_human(coder: str) -> bool:
    return str(coder).startswith(HUMAN_PREFIX)


def human_mask(coders: pd.Series) -> pd.Series:
    """``is_human`` for a column of coder ids."""
    return coders.astype(str).str.startswith(HUMAN_PREFIX)


def coder_family(coder: str) -> str:
    """``"rules@2"`` → ``"rules"``: a re-run of any version replaces the family's suggestions."""
    return coder.split("@", 1)[0]


def sql_is_human(column: str = "coder") -> str:
    """SQL that is true when ``column`` holds a human coder id."""
    return f"{column} LIKE '{HUMAN_PREFIX}%'"


def sql_undecided(alias: str) -> str:
    """SQL that is true when the excerpt and dimension of coding ``alias`` has no human coding."""
    return (f"NOT EXISTS (SELECT 1 FROM codings h WHERE h.excerpt_id = {alias}.excerpt_id "
            f"AND h.dimension = {alias}.dimension AND {sql_is_human('h.coder')})")


def undecided(codings: pd.DataFrame) -> pd.DataFrame:
    """The machine suggestions on excerpts and dimensions no human has decided yet."""
    human = human_mask(codings["coder"])
    decided = pd.MultiIndex.from_frame(codings.loc[human, ["excerpt_id", "dimension"]])
    machine = codings[~human & (codings["status"] == "suggested")]
    if len(decided):
        keys = pd.MultiIndex.from_frame(machine[["excerpt_id", "dimension"]])
        machine = machine[~keys.isin(decided)]
    return machine


def effective_rows(excerpt_key: np.ndarray, codings: pd.DataFrame, include_suggested: bool
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``codings`` that count (see the module docstring) and whether each is a suggestion.

    ``excerpt_key`` numbers the excerpts in id order. Rows come sorted by excerpt, dimension and
    code. Vectorised, because a map of a large study evaluates this over every coding.
    """
    dim_c, dims = pd.factorize(codings["dimension"], sort=True)
    code_c, codes = pd.factorize(codings["code_id"], sort=True)
    coder_c, coders = pd.factorize(codings["coder"], sort=True)       # sorted: code order = name order
    status = codings["status"].to_numpy(dtype=object)
    human = np.fromiter((is_human(c) for c in coders), bool, len(coders))[coder_c]
    accepted = human & (status == "accepted")
    rejected = human & (status == "rejected")
    machine = ~human & (status == "suggested") & include_suggested
    k2 = excerpt_key.astype(np.int64) * len(dims) + dim_c
    k3 = k2 * len(codes) + code_c
    if accepted.any():
        machine &= ~np.isin(k2, k2[accepted])
    if rejected.any():
        machine &= ~np.isin(k3, k3[rejected])
    m = np.flatnonzero(machine)
    conf = codings["confidence"].to_numpy(dtype=float)
    m = m[np.lexsort((coder_c[m], -conf[m], k2[m]))]
    if len(m):      # the winning coder per excerpt and dimension, then every code it suggested there
        win = m[np.r_[True, k2[m][1:] != k2[m][:-1]]]
        kc = k2 * len(coders) + coder_c
        m = m[np.isin(kc[m], kc[win])]
    a = np.flatnonzero(accepted)
    rows = np.r_[a, m]
    suggested = np.r_[np.zeros(len(a), bool), np.ones(len(m), bool)]
    order = np.lexsort((np.arange(len(rows)), code_c[rows], k2[rows]))
    return rows[order], suggested[order]


def effective_codings(codings: pd.DataFrame, include_suggested: bool = True) -> pd.DataFrame:
    """The codings that count, sorted by excerpt, dimension and code; ``suggested`` flags machine ones."""
    if codings.empty:
        return codings.assign(suggested=pd.Series(dtype=bool))
    rows, suggested = effective_rows(pd.factorize(codings["excerpt_id"], sort=True)[0], codings, include_suggested)
    out = codings.iloc[rows].reset_index(drop=True)
    out["suggested"] = suggested
    return out


__all__ = ["HUMAN_PREFIX", "human_coder", "is_human", "human_mask", "coder_family", "sql_is_human", "sql_undecided",
           "undecided", "effective_rows", "effective_codings"]
