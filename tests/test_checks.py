"""invdn.checks: the shared type-and-range checks of configuration values."""

import math

import pytest

from invdn.checks import is_int, is_number, require_int, require_number
from invdn.errors import InvdnError


def test_bools_are_neither_ints_nor_numbers():
    assert not is_int(True) and not is_number(False)
    assert is_int(0) and is_int(3, 3) and not is_int(2, 3) and not is_int(2.0) and not is_int("2")
    assert is_number(2) and is_number(0.5, above=0) and not is_number(0, above=0)
    assert is_number(1.0, at_least=0, at_most=1) and not is_number(1.5, at_least=0, at_most=1)
    assert is_number(math.nan) and not is_number(math.nan, at_least=0)


def test_messages_are_one_line_and_name_the_key():
    with pytest.raises(InvdnError, match=r"^seed='abc' must be an integer >= 0$"):
        require_int("seed", "abc", 0)
    with pytest.raises(ValueError, match=r"^n=-1 must be an integer >= 0 \(0: off\)$"):
        require_int("n", -1, 0, " (0: off)", error=ValueError)
    with pytest.raises(InvdnError, match=r"^system.lr=True must be a number > 0$"):
        require_number("system.lr", True, 0)
    require_int("seed", 0, 0)
    require_number("system.lr", 2e-4, 0)
