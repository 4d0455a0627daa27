"""The one integer-range parser: CLI --bits and study grid ranges."""

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile.ranges import BITS_MAX, BITS_MIN, int_range, parse_bits
from cryoctl.study import grid_combinations


def test_int_range_forms():
    assert int_range("6", "f") == [6]
    assert int_range(" 2 .. 5 ", "f") == [2, 3, 4, 5]
    assert int_range("2..8..3", "f") == [2, 5, 8]
    assert int_range("-3..-1", "f") == [-3, -2, -1]
    for bad, msg in (("2..x", "malformed"), ("2-5", "malformed"), ("8..2", "empty range"), ("2..8..0", "empty range")):
        with pytest.raises(CryoctlError, match=rf"^f: {msg}"):
            int_range(bad, "f")
    with pytest.raises(CryoctlError, match=r"outside \[1, 4\]"):
        int_range("0..3", "f", 1, 4)


def test_bits_bounds_come_from_the_profile_schema_and_cli_and_study_agree():
    assert (BITS_MIN, BITS_MAX) == (1, 24)
    assert parse_bits(None, 8) == [8] and parse_bits("2..10..4") == [2, 6, 10]
    for bad in ("0..3", "2..25", "x", None):
        with pytest.raises(CryoctlError, match="^--bits: expected a bit count"):
            parse_bits(bad)
    assert [c["dac.bits"] for c in grid_combinations({"dac.bits": "2..10..4"})] == parse_bits("2..10..4")
