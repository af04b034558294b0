"""index.html: the document of parity.publish.sections as one self-contained page (inline
CSS and SVG, no scripts, nothing fetched) that shows every figure of a results record:
the tables of report.md, plots, the full statistics of every timed loop, memory and
timings per cell, and the raw samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from parity.publish import sections
from parity.publish.document import (
    Alert,
    Block,
    Bullets,
    Code,
    Details,
    Document,
    Paragraph,
    Plot,
    Preformatted,
    Table,
    TableBlock,
    Text,
    shown_in,
)
from parity.results.record import RunRecord

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; display: block;
        overflow-x: auto; }
th, td { border: 1px solid #d5d5d5; padding: 0.25rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plot { width: 100%; max-width: 760px; display: block; margin: 0.8rem 0; }
.fail { color: #b00020; font-weight: 600; } .pass { color: #1b7f3b; font-weight: 600; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
details { margin: 0.4rem 0; } summary { cursor: pointer; }
.samples { font-family: ui-monospace, monospace; font-size: 0.75rem; word-break: break-all; }
"""


def _text(text: Text) -> str:
    def one(part: str | Code | Alert) -> str:
        if isinstance(part, Code):
            return f"<code>{escape(part.text)}</code>"
        if isinstance(part, Alert):
            return f'<span class="fail">{escape(part.text)}</span>'
        return escape(part)

    return "".join(one(part) for part in text)


def _cell_html(text: str) -> str:
    """A table cell's text, a leading verdict coloured."""
    safe = escape(text)
    for word, css in (("FAIL", "fail"), ("pass", "pass")):
        if safe.startswith(word):
            safe = f'<span class="{css}">{word}</span>{safe[len(word) :]}'
    return safe


def table(found: Table) -> str:
    def cell(value: str) -> str:
        numeric = value.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
        return (
            f'<td class="num">{escape(value)}</td>' if numeric else f"<td>{_cell_html(value)}</td>"
        )

    head = "".join(f"<th>{escape(h)}</th>" for h in found.head)
    rows = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in found.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        css = ' class="samples"' if block.samples else ""
        return f"<p{css}>{_text(block.text)}</p>"
    if isinstance(block, Bullets):
        items = "".join(f"<li>{_text(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>" if items else ""
    if isinstance(block, TableBlock):
        return table(block.table)
    if isinstance(block, Plot):
        return block.svg
    if isinstance(block, Preformatted):
        return f"<pre>{escape(block.text)}</pre>"
    if isinstance(block, Details):
        inner = "".join(_block(b) for b in block.blocks if shown_in(b, "html"))
        return f"<details><summary>{escape(block.summary)}</summary>{inner}</details>"
    raise TypeError(f"no HTML for {type(block).__name__}")


def render(document: Document) -> str:
    body = []
    for section in document.sections:
        anchor = f' id="{escape(section.anchor)}"' if section.anchor else ""
        body.append(f"<h{section.level}{anchor}>{escape(section.title)}</h{section.level}>")
        body += [_block(block) for block in section.blocks if shown_in(block, "html")]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.page_title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def render_html(record: RunRecord | Mapping[str, Any]) -> str:
    return render(sections.build(RunRecord.coerce(record)))
