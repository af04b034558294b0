"""report.md: the document of parity.publish.sections as Markdown. Plots, every timed
loop and the raw samples are the HTML page's; a section made only of those says so."""

from __future__ import annotations

from collections.abc import Mapping
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

ELSEWHERE = "Shown in index.html."


def _text(text: Text) -> str:
    def one(part: str | Code | Alert) -> str:
        if isinstance(part, Code):
            return f"`{part.text}`"
        if isinstance(part, Alert):
            return f"**{part.text}**"
        return part

    return "".join(one(part) for part in text)


def table(found: Table) -> list[str]:
    def clean(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in found.head) + " |"]
    lines.append("|" + "---|" * len(found.head))
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in found.rows]
    return lines


def _block(block: Block) -> list[str]:
    """The block's lines, without the blank line that follows it."""
    if isinstance(block, Paragraph):
        return [_text(block.text)]
    if isinstance(block, Bullets):
        return [f"- {_text(item)}" for item in block.items]
    if isinstance(block, TableBlock):
        return table(block.table)
    if isinstance(block, Preformatted):
        lines = block.text.strip().splitlines()
        kept = lines[-block.last_lines :] if block.last_lines else lines
        return ["```", *kept, "```"]
    if isinstance(block, Details):
        inner = [line for b in block.blocks if shown_in(b, "markdown") for line in _block(b)]
        return [f"<details><summary>{block.summary}</summary>", "", *inner, "</details>"]
    if isinstance(block, Plot):
        return []
    raise TypeError(f"no Markdown for {type(block).__name__}")


def render(document: Document) -> str:
    lines: list[str] = []
    for section in document.sections:
        lines += ["#" * section.level + " " + section.title, ""]
        shown = [block for block in section.blocks if shown_in(block, "markdown")]
        for block in shown:
            if found := _block(block):
                lines += [*found, ""]
        if section.blocks and not shown:
            lines += [ELSEWHERE, ""]
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(record: RunRecord | Mapping[str, Any]) -> str:
    return render(sections.build(RunRecord.coerce(record)))
