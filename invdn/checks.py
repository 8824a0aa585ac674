"""Type-and-range checks of configuration values, with the project's one-line messages.

`is_int`/`is_number` are the predicates (a bool is neither: YAML's `true` must not pass as 1);
`require_int`/`require_number` raise `error` (InvdnError by default) worded
`"{key}={value!r} must be an integer >= {minimum}{note}"` / `"... must be a number > {above}"`.
"""

from __future__ import annotations

from typing import Any

from invdn.errors import InvdnError


def is_int(value: Any, minimum: int | None = None) -> bool:
    """An int (not a bool), at least `minimum` when given."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and (minimum is None or value >= minimum))


def is_number(value: Any, above: float | None = None, at_least: float | None = None,
              at_most: float | None = None) -> bool:
    """An int or float (not a bool) within the given bounds (NaN fails any bound)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return ((above is None or value > above) and (at_least is None or value >= at_least)
            and (at_most is None or value <= at_most))


def require_int(key: str, value: Any, minimum: int, note: str = "",
                error: type[Exception] = InvdnError) -> None:
    """Raise `error` unless `value` is an integer >= `minimum`."""
    if not is_int(value, minimum):
        raise error(f"{key}={value!r} must be an integer >= {minimum}{note}")


def require_number(key: str, value: Any, above: float, note: str = "",
                   error: type[Exception] = InvdnError) -> None:
    """Raise `error` unless `value` is a number > `above`."""
    if not is_number(value, above=above):
        raise error(f"{key}={value!r} must be a number > {above:g}{note}")

