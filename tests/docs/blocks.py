"""The fenced code blocks of the README and of the documentation pages, with their markers.

A block may be preceded, on the line before its opening fence, by an HTML comment that
says what the tests do with it (the comment is invisible on the site):

``<!-- skip-run: why -->``
    a Python block that is not run (it needs a cluster, a GPU, a download or minutes), or a
    shell block whose command lines are not parsed;
``<!-- printed -->``
    a text block that must equal what the Python blocks of the page printed since the
    previous ``printed`` block (or the page's start);
``<!-- output-of: COMMAND -->``
    a text block whose every line must be a line that ``COMMAND`` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^<!-- (?P<kind>[a-z-]+)(?::\s*(?P<arg>.*?))? -->$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    marker: str | None = None  # the kind of the comment on the line before the fence
    marker_arg: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """The README and every Markdown page of the documentation, in a fixed order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` in order (nested fences are not used in these pages)."""
    lines = page.read_text().split("\n")
    out: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines))
                    if lines[j].strip() == "```"), None)
        if end is None:
            raise AssertionError(f"{page}:{i + 1}: a code block that is never closed")
        marker = _MARKER.match(lines[i - 1].strip()) if i else None
        indent = len(opening.group("indent"))
        text = "\n".join(line[indent:] for line in lines[i + 1:end])
        out.append(Block(page, i + 1, opening.group("info").strip().split(" ")[0], text,
                         marker.group("kind") if marker else None,
                         marker.group("arg") if marker else None))
        i = end + 1
    return out


def command_lines(block: Block, program: str = "canmore-sim") -> list[str]:
    """The command lines of a shell block that run ``program`` (comments removed)."""
    out = []
    for raw in block.text.split("\n"):
        line = raw.split(" #", 1)[0].strip()
        words = line.split()
        if words and Path(words[0]).name == program:
            out.append(line)
    return out
