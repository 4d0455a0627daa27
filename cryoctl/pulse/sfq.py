"""SFQ bitstreams: the control word of a single-flux-quantum pulse generator (DESIGN.md 'SFQ control').

An SFQ driver replays a bitstream from a memory of ``memory_bits`` clock ticks: bit j = 1 puts one pulse
(area Phi_0) on the qubit's coupling capacitor at tick j, t_j = j T_clk. The word is 1 bit wide per tick;
nothing else (no amplitude, no phase) is under the controller's control, so rotation angles are quantized by
the tip angle of one pulse (resonant trains) or set by *where* pulses sit in time (optimized bitstreams).

Arrays: bitstreams are bool arrays (..., L), tick 0 first (in time). Memory words: :func:`pack` stores them
as uint8 bytes, most significant bit = earliest tick (``numpy.packbits`` order), ceil(L / 8) bytes each.

Resonant train of k pulses (:func:`resonant_train`): one pulse per qubit period when the clock is an integer
multiple m of f_01, at ticks 0, m, 2m, ..., (k-1) m; each pulse arrives in phase with the qubit's precession,
so the kicks add up to a y rotation of k dtheta (exactly, for d = 2).

Timing jitter (:func:`jitter_delays`): each pulse arrives at t_j + delta_j, delta_j ~ N(0, sigma_t^2)
independent per pulse and per draw (the clock-to-output jitter of the driver), drawn from an explicit
``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError


def _positive_int(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise CryoctlError(f"expected a positive integer, got {value!r}", field=field)
    return int(value)


def resonant_train(k, ticks_per_period: int, length: int | None = None) -> np.ndarray:
    """Bitstreams of k pulses, one every ``ticks_per_period`` ticks from tick 0: (..., L) bool.

    ``k``: non-negative integers (any shape); ``length`` defaults to the shortest stream that holds the
    largest train, (k_max - 1) m + 1 ticks (at least 1). CryoctlError when a train does not fit ``length``.
    """
    m = _positive_int(ticks_per_period, "ticks_per_period")
    k = np.asarray(k)
    if k.dtype.kind not in "iu" or (k.size and k.min() < 0):
        raise CryoctlError("expected non-negative integer pulse counts", field="k")
    k_max = int(k.max()) if k.size else 0
    need = max(1, (k_max - 1) * m + 1)
    length = need if length is None else _positive_int(length, "length")
    if length < need:
        raise CryoctlError(f"a train of {k_max} pulses every {m} ticks needs {need} ticks, more than {length}",
                           field="length")
    ticks = np.arange(length)
    return (ticks % m == 0) & (ticks // m < k[..., None])


def check_memory(bits, memory_bits: int) -> np.ndarray:
    """The bitstreams, if they fit the driver's memory (CryoctlError(field='sfq.memory_bits') otherwise)."""
    bits = np.asarray(bits, dtype=bool)
    if bits.shape[-1] > memory_bits:
        raise CryoctlError(f"a bitstream of {bits.shape[-1]} ticks does not fit the {memory_bits}-bit memory",
                           field="sfq.memory_bits")
    return bits


def pack(bits) -> np.ndarray:
    """Memory words of bitstreams (..., L) -> uint8 (..., ceil(L / 8)), earliest tick in the MSB."""
    return np.packbits(np.asarray(bits, dtype=bool), axis=-1)


def unpack(words, length: int) -> np.ndarray:
    """Inverse of :func:`pack`: uint8 words (..., B) -> bool bitstreams (..., length)."""
    words = np.asarray(words)
    if words.dtype != np.uint8 or words.shape[-1] * 8 < length:
        raise CryoctlError(f"expected uint8 words holding {length} bits", field="words")
    return np.unpackbits(words, axis=-1, count=int(length)).astype(bool)


def jitter_delays(rng: np.random.Generator, shape, rms_ps: float) -> np.ndarray:
    """Timing errors delta ~ N(0, (rms_ps 1e-3)^2) in ns, one per tick, of ``shape`` (..., L)."""
    if not isinstance(rng, np.random.Generator):
        raise CryoctlError("expected a numpy.random.Generator", field="rng")
    if not np.isfinite(rms_ps) or rms_ps < 0:
        raise CryoctlError(f"expected a non-negative rms jitter in ps, got {rms_ps!r}", field="jitter_rms_ps")
    return rng.normal(0.0, float(rms_ps) * 1e-3, size=shape)
