"""The exception types the command line turns into one-line messages."""

from __future__ import annotations

from typing import Any


class InvdnError(Exception):
    """A problem the user can fix (bad input, missing file, bad config value).

    The message is one line that names the problem and the fix; commands print it without a
    traceback and exit non-zero.
    """


class OptionError(InvdnError):
    """A bad value of a named option, worded with the option's Python name
    (`samples=0 must be >= 1`); :meth:`worded` words it for another interface, e.g. the
    command line's flag (`--samples 0 must be >= 1`). `{name}` in `problem` (e.g. in a
    suggested fix) becomes the same name."""

    def __init__(self, key: str, value: Any, problem: str) -> None:
        self.key, self.value, self.problem = key, value, problem
        super().__init__(self.worded(f"{key}="))

    def __reduce__(self):
        # rebuilt from its parts, e.g. when raised in a worker process (pickled)
        return type(self), (self.key, self.value, self.problem)

    def worded(self, name: str) -> str:
        """The message with the option called `name` ('samples=' or '--samples ')."""
        return f"{name}{self.value} {self.problem.replace('{name}', name)}"

    def as_flag(self) -> str:
        """The message for the command line: the key as its argparse flag."""
        return self.worded(f"--{self.key.replace('_', '-')} ")
