"""Terminal layout: fixed-width tables and lines wrapped to the terminal's width."""

from __future__ import annotations

import textwrap

__all__ = ["WIDTH", "grid", "wrap"]

#: Columns the default terminal output keeps within.
WIDTH = 120


def grid(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table: the header, a rule, one line per row; the first column left-aligned,
    the others right-aligned, each as wide as its widest cell."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def wrap(line: str, width: int = WIDTH, indent: str = "    ") -> list[str]:
    """``line`` cut at spaces into lines of at most ``width`` columns; the lines after
    the first are indented by ``indent`` more than the first."""
    if len(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line.strip(), width=width, initial_indent=lead,
                         subsequent_indent=lead + indent, break_on_hyphens=False,
                         break_long_words=False)
