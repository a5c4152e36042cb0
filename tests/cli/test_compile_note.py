"""map's 'compiling the NoC engine' note comes just before the first replay, once."""

from __future__ import annotations

import io

import pytest

from canmore_sim.cli import commands as cli
from canmore_sim.config import default_config, with_overrides
from canmore_sim.noc import fast
from canmore_sim.utils.progress import StageEvent

NOTE = "compiling the NoC engine"
EVENTS = [StageEvent("neurons", 0, 1), StageEvent("neurons", 1, 1),
          StageEvent("traffic", 0, 1, 0, 2), StageEvent("traffic", 1, 1, 0, 2),
          StageEvent("noc", 0, 10, 0, 2), StageEvent("noc", 10, 10, 0, 2),
          StageEvent("noc", 0, 10, 1, 2), StageEvent("noc", 10, 10, 1, 2)]


def _feed(monkeypatch, *, quiet: bool, engine: str = "fast", enabled: bool = False):  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def needs_compile() -> bool:
        asked.append(seen[-1].stage if seen else "start")
        return True

    monkeypatch.setattr(fast, "needs_compile", needs_compile)
    stream, seen = io.StringIO(), []
    bar = cli._ProgressBar(stream, enabled=enabled)
    report = cli._with_compile_note(bar, with_overrides(default_config(), {"run.engine": engine}),
                                    quiet=quiet)
    for event in EVENTS:
        seen.append(event)
        report(event)
    return stream.getvalue(), asked


@pytest.mark.parametrize("enabled", [False, True])
def test_the_note_comes_once_at_the_first_replay(monkeypatch, enabled: bool) -> None:
    text, asked = _feed(monkeypatch, quiet=False, enabled=enabled)
    assert asked == ["noc"]  # checked (numba loaded) only when the first replay starts
    assert text.count(NOTE) == 1
    if enabled:  # after the stage lines of the neuron simulation, before the replay's
        assert text.index("neuron simulation") < text.index(NOTE) < text.index("NoC replay")


@pytest.mark.parametrize(("quiet", "engine"), [(True, "fast"), (False, "simpy")])
def test_no_note_when_quiet_or_another_engine(monkeypatch, quiet: bool, engine: str) -> None:
    text, asked = _feed(monkeypatch, quiet=quiet, engine=engine)
    assert asked == [] and NOTE not in text
