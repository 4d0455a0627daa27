"""DAC power: dissipated power from a figure of merit, and the thermal (kT) floor beside it.

Dissipated power per channel (current-steering DAC, Walden-style figure of merit)::

    P_channel = FoM * 2^N * f_s + P_static

with FoM in J per conversion step (``cost.fom_fj_per_step``, fJ), N the resolution and f_s the
sample rate. At a fixed rate this doubles with every bit.

Thermal floor: the smallest *signal* power at which thermal (kT) noise in the output bandwidth stays
below the quantization noise of an ideal N-bit converter, i.e. P_min = pi k_B T f_s * SNR_N with
SNR_N = 1.5 * 4^N the ideal N-bit SQNR (6.02 N + 1.76 dB)::

    P_min = 1.5 * pi * k_B * T * f_s * 4^N

For N = 12 and f_s = 2 GS/s this gives 0.65 mW at 300 K and 8.7 uW at 4 K (the figures quoted in
DESIGN.md, reproduced by tests/test_cost.py). It grows four-fold per bit while the dissipated power
grows two-fold, so at high resolution the floor, not the FoM, dominates.
"""

from __future__ import annotations

import numpy as np

#: Boltzmann constant (J/K), exact in the 2019 SI.
K_B = 1.380649e-23


def dynamic_power_w(bits: np.ndarray | int, sample_rate_gsps: np.ndarray | float, fom_fj_per_step: float) -> np.ndarray:
    """FoM * 2^N * f_s in W (broadcasts over ``bits`` and ``sample_rate_gsps``)."""
    bits = np.asarray(bits, dtype=float)
    return fom_fj_per_step * 1e-15 * np.exp2(bits) * np.asarray(sample_rate_gsps, dtype=float) * 1e9


def channel_power_w(
    bits: np.ndarray | int, sample_rate_gsps: np.ndarray | float, fom_fj_per_step: float, static_power_mw: float
) -> np.ndarray:
    """Dissipated power of one DAC channel in W: FoM * 2^N * f_s + static."""
    return dynamic_power_w(bits, sample_rate_gsps, fom_fj_per_step) + static_power_mw * 1e-3


def thermal_floor_w(bits: np.ndarray | int, sample_rate_gsps: np.ndarray | float, temperature_k: float) -> np.ndarray:
    """Thermal floor 1.5 pi k_B T f_s 4^N in W."""
    bits = np.asarray(bits, dtype=float)
    f_s = np.asarray(sample_rate_gsps, dtype=float) * 1e9
    return 1.5 * np.pi * K_B * temperature_k * f_s * np.exp2(2.0 * bits)
