"""Integer ranges as users write them: ``6``, ``2..10`` (inclusive), ``2..10..2`` (with a step).

The one parser of such ranges: the CLI's ``--bits`` (:func:`parse_bits`) and a study grid's
``dac.bits: "2..8"`` (:func:`int_range`) both read them here.
"""

from __future__ import annotations

import re

from cryoctl.errors import CryoctlError
from cryoctl.profile.models import DacSpec

_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:\.\.\s*(-?\d+)\s*(?:\.\.\s*(\d+)\s*)?)?$")


def _bound(name: str) -> int:
    for m in DacSpec.model_fields["bits"].metadata:
        if hasattr(m, name):
            return int(getattr(m, name))
    raise LookupError(name)


#: The DAC resolutions a profile accepts (DacSpec.bits).
BITS_MIN, BITS_MAX = _bound("ge"), _bound("le")


def int_range(text: str, field: str, lo: int | None = None, hi: int | None = None) -> list[int]:
    """``"a"`` -> [a]; ``"a..b"`` -> [a, ..., b]; ``"a..b..s"`` -> every s-th from a up to b.

    Raises :class:`CryoctlError` (``field``) for anything else, an empty range (b < a, s < 1), or values
    outside [lo, hi] when given.
    """
    m = _RANGE.match(str(text))
    if not m:
        raise CryoctlError(f"malformed range {text!r}: expected an integer like 6, 'a..b' or 'a..b..step'", field=field)
    a = int(m[1])
    b = int(m[2]) if m[2] is not None else a
    step = int(m[3]) if m[3] is not None else 1
    if step < 1 or b < a:
        raise CryoctlError(f"empty range {text!r}: expected a <= b and step >= 1", field=field)
    if (lo is not None and a < lo) or (hi is not None and b > hi):
        raise CryoctlError(f"range {text!r} outside [{lo}, {hi}]", field=field)
    return list(range(a, b + 1, step))


def parse_bits(text: str | None, default: int | None = None, field: str = "--bits") -> list[int]:
    """DAC resolutions: ``"2..12"`` -> [2, ..., 12]; ``"6"`` -> [6]; None -> [default]; within
    [BITS_MIN, BITS_MAX]."""
    if text is None and default is not None:
        return [default]
    try:
        return int_range(text, field, BITS_MIN, BITS_MAX)
    except CryoctlError as exc:
        raise CryoctlError(f"expected a bit count like 6 or a range like 2..12 within {BITS_MIN}..{BITS_MAX} "
                           f"({str(exc).removeprefix(f'{field}: ')})", field=field) from None
