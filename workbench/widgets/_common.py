"""What the panels share: escaping, theme-aware styles, messages and small tables.

Every piece of user text (quotes, names, codes, file names, error messages) goes through
:func:`esc` before it reaches an HTML widget. Colours come from JupyterLab's CSS variables, so
the panels follow the light and dark themes; long quotes wrap.
"""
from __future__ import annotations

import html
from typing import Iterable

import pandas as pd

STYLE = """<style>
.wb-quote{white-space:pre-wrap;overflow-wrap:anywhere;border-left:3px solid var(--jp-brand-color1,#3465a4);
  padding:4px 8px;margin:4px 0;color:var(--jp-ui-font-color1,#111);background:var(--jp-layout-color2,#f3f3f3);max-width:72em}
.wb-ctx{white-space:pre-wrap;overflow-wrap:anywhere;color:var(--jp-ui-font-color2,#555);font-size:90%;margin:2px 0 2px 12px;max-width:70em}
.wb-meta{font-size:85%;color:var(--jp-ui-font-color2,#555);overflow-wrap:anywhere}
.wb-msg{padding:4px 8px;margin:4px 0;color:var(--jp-ui-font-color1,#111);overflow-wrap:anywhere}
.wb-error{border-left:4px solid var(--jp-error-color1,#c62828)}
.wb-ok{border-left:4px solid var(--jp-success-color1,#2e7d32)}
.wb-info{border-left:4px solid var(--jp-info-color1,#0277bd)}
table.wb{border-collapse:collapse;color:var(--jp-ui-font-color1,#111);font-size:90%}
table.wb th,table.wb td{padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#ddd);vertical-align:top;text-align:left}
table.wb td.wb-text{white-space:pre-wrap;overflow-wrap:anywhere;max-width:60em}
.wb-card{border:1px solid var(--jp-border-color2,#ddd);padding:6px 10px;margin:6px 0;background:var(--jp-layout-color1,#fff)}
.wb-done{opacity:.6}
</style>"""



def esc(value: object) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and value != value) else str(value), quote=True)


def message(kind: str, text: str) -> str:
    """A message box: kind is ``error``, ``ok`` or ``info``; the text is escaped."""
    return f'<div class="wb-msg wb-{kind}" role="{"alert" if kind == "error" else "status"}">{esc(text)}</div>'


def table(frame: pd.DataFrame, columns: Iterable[str] | None = None, text_columns: Iterable[str] = ("text", "quote"),
          max_rows: int = 50, caption: str = "") -> str:
    """An escaped HTML table of the first ``max_rows`` rows; long text columns wrap."""
    columns = list(columns or frame.columns)
    wrap = set(text_columns)
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in columns)
    body = []
    for row in frame[columns].head(max_rows).itertuples(index=False):
        body.append("<tr>" + "".join(f'<td class="wb-text">{esc(v)}</td>' if c in wrap else f"<td>{esc(v)}</td>"
                                     for c, v in zip(columns, row)) + "</tr>")
    more = f'<p class="wb-meta">showing {max_rows} of {len(frame)} rows</p>' if len(frame) > max_rows else ""
    cap = f"<caption class='wb-meta'>{esc(caption)}</caption>" if caption else ""
    return f'<table class="wb">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


def quote_block(text: str, meta: str) -> str:
    return f'<div class="wb-quote">{esc(text)}</div><div class="wb-meta">{esc(meta)}</div>'
