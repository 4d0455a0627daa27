"""One DAC channel of one chip: static transfer + dynamic errors + zero-order hold.

    render(codes, rng) = hold(perturb(static(codes), rng))

The static mismatch is drawn once, at construction, from
``numpy.random.default_rng([spec.mismatch_seed, channel])``: one seed is one fabricated chip, and
channel k is the k-th DAC on it (by convention qubit q drives I on channel 2q and Q on 2q + 1).

``perturb``/``render`` draw one channel's dynamic errors on its own. The I and Q DACs of a qubit run on
one clock, so their jitter is one draw per sample: perturb a pair together with
:func:`cryoctl.dac.dynamic.perturb_pair` (what :meth:`cryoctl.pulse.Drive.volts` does).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from cryoctl.dac import dynamic, static
from cryoctl.errors import CryoctlError
from cryoctl.profile.models import DacSpec, HardwareProfile


class Dac:
    """A current-steering DAC channel built from a :class:`DacSpec` (see :mod:`cryoctl.dac.static`
    for the transfer model and :mod:`cryoctl.dac.dynamic` for noise, jitter, hold and filter)."""

    def __init__(self, spec: DacSpec | HardwareProfile, channel: int = 0):
        if isinstance(spec, HardwareProfile):
            spec = spec.dac
        if not isinstance(spec, DacSpec):
            raise CryoctlError(f"expected a DacSpec (profile.dac), got {type(spec).__name__}", field="dac")
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or channel < 0:
            raise CryoctlError(f"expected a non-negative integer channel index, got {channel!r}", field="channel")
        self.spec = spec
        self.channel = int(channel)
        self._z = (
            None
            if spec.inl_table_lsb is not None
            else static.draw_mismatch(spec, np.random.default_rng([spec.mismatch_seed, self.channel]))
        )

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"Dac(bits={s.bits}, architecture={s.architecture!r}, unary_msbs={s.n_unary}, "
            f"sigma_u={s.unit_mismatch_sigma}, seed={s.mismatch_seed}, channel={self.channel})"
        )

    # -- convenience views of the spec ---------------------------------------------------------
    @property
    def bits(self) -> int:
        return self.spec.bits

    @property
    def lsb_v(self) -> float:
        return self.spec.lsb_v

    @property
    def code_min(self) -> int:
        return self.spec.code_min

    @property
    def code_max(self) -> int:
        return self.spec.code_max

    @property
    def dt_ns(self) -> float:
        """Sample period (ns)."""
        return self.spec.dt_ns

    @property
    def codes(self) -> np.ndarray:
        """All codes, code_min..code_max (aligned with :attr:`levels`)."""
        return np.arange(self.code_min, self.code_max + 1)

    @cached_property
    def levels(self) -> np.ndarray:
        """Static output volts per code, index = code - code_min (read-only)."""
        if self._z is None:
            lv = static.levels_from_inl_table(self.spec)
        else:
            lv = static.levels_from_mismatch(self.spec, self._z)
        lv.flags.writeable = False
        return lv

    # -- signal chain -------------------------------------------------------------------------
    def check_codes(self, codes) -> np.ndarray:
        """Validate codes (any shape) and return them as int64; CryoctlError(field="code") otherwise."""
        c = np.asarray(codes)
        valid = f"integers in [{self.code_min}, {self.code_max}] for a {self.bits}-bit DAC"
        kind = c.dtype.kind
        if kind == "f":
            finite = np.isfinite(c)
            bad = ~finite | (np.where(finite, c, 0.0) != np.round(np.where(finite, c, 0.0)))
            if np.any(bad):
                raise CryoctlError(f"codes must be {valid}; got non-integer value {c[bad].flat[0]!r}", field="code")
        elif kind not in "iu":
            raise CryoctlError(f"codes must be {valid}; got an array of dtype {c.dtype}", field="code")
        if c.size:
            lo, hi = c.min(), c.max()
            if lo < self.code_min or hi > self.code_max:
                worst = lo if lo < self.code_min else hi
                raise CryoctlError(f"codes must be {valid}; got {worst.item()!r}", field="code")
        return c.astype(np.int64)

    def static(self, codes) -> np.ndarray:
        """Codes (any shape, integers) -> static output volts, same shape."""
        c = self.check_codes(codes)
        return self.levels[c - self.code_min]

    def perturb(self, volts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Add white output noise and clock-jitter error per sample: (..., K) -> (..., K)."""
        return dynamic.perturb(self.spec, volts, rng)

    def hold(self, volts: np.ndarray) -> np.ndarray:
        """Zero-order hold with ``oversampling`` sub-samples, then the reconstruction filter."""
        return dynamic.hold(self.spec, volts)

    def render(self, codes, rng: np.random.Generator | None = None) -> np.ndarray:
        """hold(perturb(static(codes), rng)); no dynamic errors when rng is None. (..., K) -> (..., K*os)."""
        v = self.static(codes)
        if rng is not None:
            v = self.perturb(v, rng)
        return self.hold(v)

    @property
    def noise_sigma_v(self) -> float:
        """Per-sample rms of the white output noise (V)."""
        return dynamic.noise_sigma_v(self.spec)
