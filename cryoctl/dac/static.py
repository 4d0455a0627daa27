"""Static transfer of a current-steering DAC: code -> volts, with unit-source mismatch.

Model (DESIGN.md "DAC static transfer"). The DAC is an array of 2^N - 1 unit current sources
I_u (1 + e_k), e_k ~ N(0, sigma_u^2), grouped into *switched elements*:

* B = N - U binary-weighted LSB elements, element i made of 2^i units (i = 0..B-1);
* 2^U - 1 thermometer (unary) MSB segments, each made of 2^B units.

``binary`` is U = 0, ``thermometer`` is U = N, ``segmented`` is 0 < U < N (``unary_msbs``).

A signed code c in [-2^(N-1), 2^(N-1) - 1] is seen in offset binary, u = c - code_min in
[0, 2^N - 1]. Its upper U bits, h = u >> B, switch on the first h unary segments (in a fixed
order); its lower B bits switch on the binary elements whose bit is set. With W_j the current of
element j in units of I_u, the output is

    I_on(u) = sum_{j < h} W^unary_j + sum_i bit_i(u) W^binary_i
    V(c)    = (1 + gain_error) (I_on(u) - 2^(N-1)) * LSB + offset_v,   LSB = full_scale_v / 2^(N-1),

i.e. the current of the switched-on units minus the ideal midscale current, times the load; the
ideal DAC (all e_k = 0) gives exactly V(c) = c * LSB.

An element of w units carries sum_k (1 + e_k) = w + sigma_u sqrt(w) z with z ~ N(0, 1). Drawing one
z per *element* (not per unit) has exactly the same distribution and costs N + 2^U - 1 draws
instead of 2^N - 1. The standard-normal draws z do not depend on sigma_u, so one mismatch seed is
one chip whose error pattern scales with sigma_u (a what-if on sigma_u keeps the chip).

Measured transfer: when ``inl_table_lsb`` is given it replaces the mismatch model,
V(c) = (1 + gain_error)(c + INL_table[u]) * LSB + offset_v.
"""

from __future__ import annotations

import numpy as np

from cryoctl.profile.models import DacSpec


def split_bits(spec: DacSpec) -> tuple[int, int]:
    """(U, B): number of thermometer-decoded MSBs and of binary-weighted LSBs."""
    u = spec.n_unary
    return u, spec.bits - u


def element_units(spec: DacSpec) -> np.ndarray:
    """Units per switched element: the B binary LSB elements (2^0 .. 2^(B-1)) first, then the
    2^U - 1 unary segments of 2^B units each. Sums to 2^N - 1."""
    u, b = split_bits(spec)
    return np.concatenate([2.0 ** np.arange(b), np.full(2**u - 1, 2.0**b)])


def draw_mismatch(spec: DacSpec, rng: np.random.Generator, size: int | tuple[int, ...] = ()) -> np.ndarray:
    """Standard-normal element draws z of shape (*size, n_elements): one row = one chip/channel."""
    size = (size,) if isinstance(size, int) else tuple(size)
    return rng.standard_normal((*size, element_units(spec).size))


def element_currents(spec: DacSpec, z: np.ndarray) -> np.ndarray:
    """Element currents in units of I_u: W_j = w_j + sigma_u sqrt(w_j) z_j, shape of z."""
    w = element_units(spec)
    return w + spec.unit_mismatch_sigma * np.sqrt(w) * np.asarray(z, dtype=float)


def switched_current(spec: DacSpec, currents: np.ndarray) -> np.ndarray:
    """I_on(u) for every offset-binary code u = 0..2^N-1: (..., n_elements) -> (..., 2^N).

    Vectorised over codes and over leading (chip) axes; the only loop is over the B binary bits.
    """
    u_bits, b_bits = split_bits(spec)
    currents = np.asarray(currents, dtype=float)
    lead = currents.shape[:-1]
    binary, unary = currents[..., :b_bits], currents[..., b_bits:]
    low = np.arange(2**b_bits)
    table = np.zeros((*lead, 2**b_bits))
    for i in range(b_bits):
        table += ((low >> i) & 1) * binary[..., i : i + 1]
    # Thermometer: h segments on -> cumulative sum of the first h segment currents (h = 0..2^U-1).
    cum = np.concatenate([np.zeros((*lead, 1)), np.cumsum(unary, axis=-1)], axis=-1)
    # u = h * 2^B + low  ->  row-major (h, low) grid flattened.
    return (cum[..., :, None] + table[..., None, :]).reshape(*lead, 2 ** (u_bits + b_bits))


def levels_from_mismatch(spec: DacSpec, z: np.ndarray) -> np.ndarray:
    """Output volts for every code (index = code - code_min), for element draws z (..., n_elements)."""
    i_on = switched_current(spec, element_currents(spec, z))
    return _scale(spec, i_on - 2.0 ** (spec.bits - 1))


def levels_from_inl_table(spec: DacSpec) -> np.ndarray:
    """Output volts per code from the measured INL table: ideal code + INL(code), then gain/offset."""
    codes = np.arange(spec.code_min, spec.code_max + 1, dtype=float)
    return _scale(spec, codes + np.asarray(spec.inl_table_lsb, dtype=float))


def ideal_levels(spec: DacSpec) -> np.ndarray:
    """code * LSB for every code (no mismatch, gain or offset error)."""
    return np.arange(spec.code_min, spec.code_max + 1, dtype=float) * spec.lsb_v


def _scale(spec: DacSpec, units_from_mid: np.ndarray) -> np.ndarray:
    # Written so that gain_error = offset_v = 0 gives exactly code * LSB (one rounding).
    return (1.0 + spec.gain_error) * units_from_mid * spec.lsb_v + spec.offset_v
