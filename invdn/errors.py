"""The exception types the command line turns into one-line messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_OTHER = re.compile(r"\{(opt|on):(\w+)\}")


class InvdnError(Exception):
    """A problem the user can fix (bad input, missing file, bad config value).

    The message is one line that names the problem and the fix; commands print it without a
    traceback and exit non-zero.
    """


def flag(key: str) -> str:
    """The command-line flag of a library keyword: `max_megapixels` → `--max-megapixels`."""
    return f"--{key.replace('_', '-')}"


class OptionError(InvdnError):
    """A bad value of a named option, worded with the option's Python name
    (`samples=0 must be >= 1`); :meth:`worded` words it for another interface, e.g. the
    command line's flag (`--samples 0 must be >= 1`). In `problem`, `{name}` (e.g. in a
    suggested fix) becomes the same name, `{opt:other_key}` names another option (`other_key` /
    `--other-key`) and `{on:other_key}` switches a flag on (`other_key=True` / `--other-key`),
    so checks of how options combine are worded for both interfaces too; with `key` None the
    message is `problem` alone (a combination of options, none of them wrong by itself)."""

    def __init__(self, key: str | None, value: Any, problem: str) -> None:
        self.key, self.value, self.problem = key, value, problem
        super().__init__(self.worded("" if key is None else f"{key}="))

    def __reduce__(self):
        # rebuilt from its parts, e.g. when raised in a worker process (pickled)
        return type(self), (self.key, self.value, self.problem)

    def worded(self, name: str, flags: Mapping[str, str] | None = None) -> str:
        """The message with the option called `name` ('samples=' or '--samples ') and the
        other options it names as keywords or, given `flags` (keyword → flag, the rest by
        :func:`flag`), as flags."""
        def other(match: re.Match) -> str:
            kind, key = match.groups()
            if flags is not None:
                return flags.get(key) or flag(key)
            return key if kind == "opt" else f"{key}=True"

        problem = _OTHER.sub(other, self.problem.replace("{name}", name))
        return problem if self.key is None else f"{name}{self.value} {problem}"

    def as_flag(self, flags: Mapping[str, str] | None = None) -> str:
        """The message for the command line: each key as its flag, `flags[key]` where a
        command's flag is not the keyword's plain spelling (`read_timeout_s` → `--read-timeout`)."""
        flags = flags or {}
        name = "" if self.key is None else f"{flags.get(self.key) or flag(self.key)} "
        return self.worded(name, flags)
