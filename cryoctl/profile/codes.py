"""Signed N-bit words: the one definition of the code range (two's-complement view, DESIGN.md)."""

from __future__ import annotations

import numpy as np


class SignedCodes:
    """Mixin for anything with an integer ``bits``: codes run over [-2^(N-1), 2^(N-1) - 1]."""

    @property
    def code_min(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def code_max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def codes(self) -> np.ndarray:
        """Every code, lowest first (index = code - code_min)."""
        return np.arange(self.code_min, self.code_max + 1)
