"""The report as one document: sections of paragraphs, lists, tables, plots and details.

parity.publish.sections builds it once from a results record; parity.publish.markdown
and parity.publish.html render the same document. A block marked `only` belongs to one
rendering: the HTML page shows every figure (plots, every timed loop, raw samples), the
Markdown report stays short and says where those are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Only = Literal["markdown", "html"] | None


@dataclass(frozen=True)
class Code:
    """Inline code: a handle, a cell id, load options."""

    text: str


@dataclass(frozen=True)
class Alert:
    """Inline text the reader must not miss: a failed status."""

    text: str


Inline = str | Code | Alert
Text = tuple[Inline, ...]


def plain(text: str | Text) -> Text:
    return (text,) if isinstance(text, str) else text


@dataclass
class Table:
    """Plain-text cells: both renderings show exactly these strings."""

    head: list[str]
    rows: list[list[str]]


@dataclass
class Paragraph:
    text: Text
    only: Only = None
    samples: bool = False  # a long run of raw figures: set small and monospaced


@dataclass
class Bullets:
    items: list[Text]
    only: Only = None


@dataclass
class TableBlock:
    table: Table
    only: Only = None


@dataclass
class Plot:
    """An inline SVG (parity.publish.plots); the HTML page draws it."""

    svg: str
    title: str
    only: Only = "html"


@dataclass
class Preformatted:
    text: str
    last_lines: int | None = None  # the Markdown report keeps only these
    only: Only = None


@dataclass
class Details:
    """A folded block: a summary line, opened for the rest."""

    summary: str
    blocks: list[Block]
    only: Only = None


Block = Paragraph | Bullets | TableBlock | Plot | Preformatted | Details


@dataclass
class Section:
    title: str
    level: int  # 1: the document, 2: a part (a pair), 3 and 4: within it
    blocks: list[Block] = field(default_factory=list)
    anchor: str | None = None  # an id to link to (the pair's id)


@dataclass
class Document:
    title: str
    sections: list[Section]
    page_title: str = ""  # a browser tab's name: the title and the run id

    def titles(self) -> list[str]:
        return [section.title for section in self.sections]


def shown_in(block: Block, rendering: str) -> bool:
    return block.only is None or block.only == rendering
