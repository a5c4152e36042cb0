"""The examples of the README and of the documentation run, and show what they print.

Every Python block of a page runs, in order, in one namespace per page (a page can build an
example up over several blocks), unless it is marked ``<!-- skip-run: why -->``; a text block
marked ``<!-- printed -->`` must be what the blocks before it printed. Every ``canmore-sim``
command line of a shell block parses with the tool's own parser, and a text block marked
``<!-- output-of: canmore-sim map -->`` shows lines the command really prints.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, Block, blocks, command_lines, pages

PYTHON = ("python", "py")
SHELL = ("bash", "sh", "console", "shell")


def _pages_with(languages: tuple[str, ...]) -> list[Path]:
    return [p for p in pages()
            if any(b.language in languages and b.marker != "skip-run" for b in blocks(p))]


@pytest.mark.parametrize("page", _pages_with(PYTHON), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run_and_print_what_the_page_shows(page: Path, tmp_path, monkeypatch,
                                                         capsys) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    namespace: dict = {"__name__": "__docs_example__"}
    printed = io.StringIO()
    for block in blocks(page):
        if block.language in PYTHON and block.marker != "skip-run":
            with contextlib.redirect_stdout(printed):
                exec(compile(block.text, block.where, "exec"), namespace)  # noqa: S102
        elif block.marker == "printed":
            assert printed.getvalue().strip() == block.text.strip(), (
                f"{block.where}: the page shows other output than its example prints")
            printed = io.StringIO()


def test_every_printed_block_follows_a_python_block() -> None:
    for page in pages():
        seen_python = False
        for block in blocks(page):
            seen_python |= block.language in PYTHON and block.marker != "skip-run"
            if block.marker == "printed":
                assert seen_python, f"{block.where}: a printed block with no example before it"


def _commands() -> list[tuple[str, str]]:
    out = []
    for page in pages():
        for block in blocks(page):
            if block.language in SHELL and block.marker != "skip-run":
                out += [(block.where, line) for line in command_lines(block)]
    return out


def test_documented_command_lines_parse_with_the_tools_parser(hooks) -> None:
    commands = _commands()
    assert len(commands) > 20  # the pages show many; a broken reader would find none
    parser = hooks._build_parser()
    bad = []
    for where, line in commands:
        args = shlex.split(line)[1:]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                parser.parse_args(args)
            except SystemExit as exc:
                if exc.code not in (0, None):  # --help and --version exit 0
                    bad.append(f"{where}: {line}")
    assert not bad, "command lines the parser refuses:\n" + "\n".join(bad)


def _output_blocks(command: str) -> list[Block]:
    return [b for p in pages() for b in blocks(p)
            if b.marker == "output-of" and b.marker_arg == command]


def test_shown_output_of_the_default_run_is_what_it_prints(tmp_path, monkeypatch,
                                                           capsys) -> None:
    shown = _output_blocks("canmore-sim map")
    assert shown, "no page shows the output of canmore-sim map"
    (script,) = entry_points(group="console_scripts", name="canmore-sim")
    main = script.load()
    monkeypatch.chdir(tmp_path)  # the default --out, canmore-out/, as the page shows it
    assert main(["map", "--quiet"]) == 0
    printed = set(capsys.readouterr().out.split("\n"))
    for block in shown:
        missing = [line for line in block.text.split("\n") if line not in printed]
        assert not missing, f"{block.where}: lines canmore-sim map does not print: {missing}"


_TOP = ("canmore_sim", "models", "cores", "mapper", "noc", "energy", "datasets", "configs",
        "tests", "benchmarks", "examples", "docs")
_PATH = re.compile(r"`((?:" + "|".join(_TOP) + r")/[\w./-]*\.(?:py|yaml|md|pt|png))`")


def test_repository_files_named_in_the_pages_exist() -> None:
    named = [(page, m.group(1)) for page in pages() for m in _PATH.finditer(page.read_text())]
    assert len(named) > 30
    missing = [f"{page.relative_to(ROOT)}: {path}" for page, path in named
               if not (ROOT / path).exists()]
    assert not missing, "files the pages name that are not in the repository:\n" + "\n".join(
        missing)
