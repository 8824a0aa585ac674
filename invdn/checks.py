"""Type-and-range rules for configuration values and options, with the project's one-line
messages: the one validation mechanism of the project.

A rule (`Int`, `Number`, `Choice`, `Flag`) knows what it accepts and how to say it. Two kinds of
tables declare which key follows which rule:
- the training configuration's schema (`invdn.schema`): `Rule.check` raises `ConfigError`
  worded `"{key}={value!r} must be {what it accepts}{fix}"`, e.g.
  `trainer.max_steps=-5 must be an integer >= 1 (or -1 with trainer.max_epochs)`;
- an options dataclass (`DenoiseOptions`, `ResampleOptions`, `ServeConfig`, …) declares
  `RULES` (field → rule) and derives from `Checked`, whose `__post_init__` runs
  `check_options`; a function's keyword arguments go through `check_value`. Both raise
  `OptionError` by keyword (`samples=0 must be >= 1`), which the command line words as its
  flag (`--samples 0 must be >= 1`).

`is_int`/`is_number` are the predicates underneath (a bool is neither: YAML's `true` must not pass
as 1); `require_int`/`require_number` are the one-off forms of `Int`/`Number`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from invdn.errors import InvdnError, OptionError


class ConfigError(OptionError, ValueError):
    """A configuration value outside its rule: `key=value` (the value as Python writes it, so
    `seed='abc'` shows it is a string) followed by the problem and its fix. An `InvdnError` for
    the command line and a `ValueError` for callers building components from Python."""

    def worded(self, name: str, flags: Mapping[str, str] | None = None) -> str:
        return f"{name}{self.value!r} {self.problem.replace('{name}', name)}"


def is_int(value: Any, minimum: int | None = None) -> bool:
    """An int (not a bool), at least `minimum` when given."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and (minimum is None or value >= minimum))


def is_number(value: Any, above: float | None = None, at_least: float | None = None,
              at_most: float | None = None, below: float | None = None) -> bool:
    """An int or float (not a bool) within the given bounds (NaN fails any bound)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return ((above is None or value > above) and (at_least is None or value >= at_least)
            and (at_most is None or value <= at_most) and (below is None or value < below))


class Rule(ABC):
    """What a key accepts. Subclasses define `accepts` and `describe`; `null` also accepts None
    and `fix` is appended to the message (a hint, the paper's value, an example)."""

    null: bool = False
    fix: str = ""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether `value` (not None) follows the rule."""

    @abstractmethod
    def describe(self) -> str:
        """What is accepted, after 'must be ' (e.g. 'an integer >= 1')."""

    def describe_for(self, value: Any) -> str:
        """What is accepted, said so that it fits the refused `value`."""
        return self.describe()

    def check(self, key: str, value: Any) -> None:
        """Raise `ConfigError` naming `key` unless `value` follows this rule."""
        if value is None and self.null:
            return
        if not self.accepts(value):
            null = " or null" if self.null else ""
            raise ConfigError(key, value, f"must be {self.describe()}{null}{self.fix}")


@dataclass(frozen=True)
class Int(Rule):
    """An integer >= `minimum` (up to `maximum`, a multiple of `multiple`, odd with `odd`);
    `also` lists accepted exceptions such as -1 for "no limit" (explain them in `fix`).
    `noun` starts the description ('' where the type goes without saying, as for a typed
    option: `samples=0 must be >= 1`)."""

    minimum: int = 0
    multiple: int = 1
    also: tuple[int, ...] = ()
    null: bool = False
    fix: str = ""
    maximum: int | None = None
    odd: bool = False
    noun: str = "an integer"

    def accepts(self, value: Any) -> bool:
        if is_int(value) and value in self.also:
            return True
        return (is_int(value, self.minimum) and value % self.multiple == 0
                and (self.maximum is None or value <= self.maximum)
                and (not self.odd or value % 2 == 1))

    def describe(self) -> str:
        if self.odd:
            return f"an odd number >= {self.minimum}"
        if self.multiple > 1 and self.minimum == 1:
            return f"a positive multiple of {self.multiple}"
        if self.maximum is not None:
            return f"{self.noun} in {self.minimum}..{self.maximum}".lstrip()
        multiple = f" and a multiple of {self.multiple}" if self.multiple > 1 else ""
        return f"{self.noun} >= {self.minimum}{multiple}".lstrip()

    def describe_for(self, value: Any) -> str:
        # a bare bound ('>= 1') would not explain why 2.5 or True is refused
        if not is_int(value) and not self.noun:
            return replace(self, noun="an integer").describe()
        return self.describe()


@dataclass(frozen=True)
class Number(Rule):
    """An int or float within the bounds given (`above` and `below` exclusive, `at_least` and
    `at_most` inclusive); `noun` names it ('a probability')."""

    above: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    below: float | None = None
    noun: str = "a number"
    null: bool = False
    fix: str = ""

    def accepts(self, value: Any) -> bool:
        return is_number(value, self.above, self.at_least, self.at_most, self.below)

    def describe(self) -> str:
        low = (f"({self.above:g}" if self.above is not None
               else f"[{self.at_least:g}" if self.at_least is not None else None)
        high = (f"{self.below:g})" if self.below is not None
                else f"{self.at_most:g}]" if self.at_most is not None else None)
        if low and high:
            return f"{self.noun} in {low}, {high}".lstrip()
        if low:
            return f"{self.noun} {'>' if low[0] == '(' else '>='} {low[1:]}".lstrip()
        if high:
            return f"{self.noun} {'<' if high[-1] == ')' else '<='} {high[:-1]}".lstrip()
        return self.noun


@dataclass(frozen=True)
class Choice(Rule):
    """One of `options` (compared as given: strings stay strings)."""

    options: tuple[Any, ...] = ()
    null: bool = False
    fix: str = ""

    def accepts(self, value: Any) -> bool:
        return not isinstance(value, bool) and value in self.options

    def describe(self) -> str:
        return f"one of {', '.join(map(str, self.options))}"


@dataclass(frozen=True)
class Flag(Rule):
    """true or false."""

    null: bool = False
    fix: str = ""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


def shown(value: Any) -> Any:
    """An option's value as an `OptionError` shows it: floats as `%g` (`0`, not `0.0`: the
    value as typed), strings quoted."""
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else value


def check_value(key: str, value: Any, rule: Rule) -> None:
    """Raise `OptionError` naming `key` unless `value` follows `rule` (None passes a `null`
    rule); worded `key=value must be …` (`--key value must be …` on the command line)."""
    if value is None and rule.null:
        return
    if not rule.accepts(value):
        raise OptionError(key, shown(value), f"must be {rule.describe_for(value)}{rule.fix}")


def check_options(options: Any, rules: Mapping[str, Rule]) -> None:
    """Check the fields of `options` named in `rules` in order; the first that breaks its
    rule raises `OptionError`."""
    for key, rule in rules.items():
        check_value(key, getattr(options, key), rule)


class Checked:
    """Base of the options dataclasses: `RULES` maps fields to rules, checked (in order) as the
    instance is made. Relations between fields, or with a network, are checked where they
    are known, by keyword too."""

    RULES: ClassVar[Mapping[str, Rule]] = {}

    def __post_init__(self) -> None:
        check_options(self, self.RULES)


def _raise(error: type[Exception], rule: Rule, key: str, value: Any) -> None:
    if issubclass(ConfigError, error):
        rule.check(key, value)
    elif not rule.accepts(value):
        raise error(f"{key}={value!r} must be {rule.describe()}{rule.fix}")


def require_int(key: str, value: Any, minimum: int, note: str = "",
                error: type[Exception] = InvdnError) -> None:
    """Raise `error` (a `ConfigError` when that is one) unless `value` is an integer >= `minimum`."""
    _raise(error, Int(minimum, fix=note), key, value)


def require_number(key: str, value: Any, above: float, note: str = "",
                   error: type[Exception] = InvdnError) -> None:
    """Raise `error` (a `ConfigError` when that is one) unless `value` is a number > `above`."""
    _raise(error, Number(above=above, fix=note), key, value)


__all__ = ["Checked", "Choice", "ConfigError", "Flag", "Int", "Number", "Rule", "check_options",
           "check_value", "is_int", "is_number", "require_int", "require_number", "shown"]
