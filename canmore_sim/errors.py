"""One exception tree for the whole tool.

Every error carries the facts of what went wrong as attributes (the YAML key,
the layer, the core, what was needed and what was available), so that callers
can act on them without parsing message text. Library code raises these; only
the CLI turns them into a one-line message and a non-zero exit status.
"""

from __future__ import annotations

from typing import Any

#: Longest message an error or warning carries, characters; a longer one (a value echoed
#: back, a 20 MB "line") keeps its head and tail around a note of how much was cut.
MAX_MESSAGE_CHARS = 400


def cut(text: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one line of at most about ``limit`` characters.

    Line breaks become spaces; a longer text keeps its first and last parts and says
    how many characters were left out between them.
    """
    line = " ".join(str(text).split("\n"))
    if len(line) <= limit:
        return line
    head, tail = (limit * 3) // 4, limit // 5
    return f"{line[:head]} ...[{len(line) - head - tail} characters cut]... {line[-tail:]}"


class CanmoreWarning(UserWarning):
    """Input that is used, but not as given (clipped values, fewer frames than asked).

    Library code issues these with :func:`warnings.warn`; the CLI renders each as one
    ``canmore-sim: warning: ...`` line. Never raised as an error.
    """


class CanmoreError(Exception):
    """Base of every error the tool raises on purpose.

    Parameters
    ----------
    message
        A complete, one-line, human-readable description (cut to
        :data:`MAX_MESSAGE_CHARS` by :func:`cut`).
    **facts
        Structured facts about the failure (for example ``layer=3``,
        ``needed=512``, ``available=64``); stored in :attr:`facts` and as
        attributes of the same name.
    """

    exit_code: int = 1

    def __init__(self, message: str, **facts: Any) -> None:
        message = cut(message)
        super().__init__(message)
        self.message = message
        self.facts: dict[str, Any] = dict(facts)
        for key, value in facts.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message


class ConfigError(CanmoreError):
    """A configuration (YAML or command-line) value is missing, misspelt or impossible.

    Facts: ``key`` (dotted path), and where known ``file`` and ``line``.
    """

    exit_code = 2


class ModelError(CanmoreError):
    """A model file or architecture cannot be loaded or understood.

    Facts: ``path`` and, where it applies, ``layer``, ``expected`` and ``got``.
    """

    exit_code = 3


class DataError(CanmoreError):
    """Input frames cannot be read or do not match the network's input."""

    exit_code = 3


class MappingError(CanmoreError):
    """The network does not fit the chip, or a mapping file is inconsistent.

    Facts: ``layer``, ``needed``, ``available`` where they apply.
    """

    exit_code = 4


class SimulationError(CanmoreError):
    """The network-on-chip simulation could not complete (deadlock, no progress).

    Facts: ``routers`` (the routers involved) where known.
    """

    exit_code = 5


class OutputError(ConfigError):
    """The output folder (``--out``) cannot be used: a file, not writable, or holding
    files canmore-sim did not write or another kind of output (without ``--force``).

    Facts: ``path``.
    """

    exit_code = 2


class MissingDependencyError(CanmoreError):
    """An optional dependency is not installed (the Python API's DataFrames need the
    extra ``pandas``). Facts: ``package`` and ``extra``.
    """
