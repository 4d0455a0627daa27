"""Current-source array area from Pelgrom matching, tied to the same sigma_u that draws INL/DNL.

Pelgrom's law for a saturated current source of gate area W*L (Pelgrom, Duinmaijer, Welbers,
"Matching properties of MOS transistors", IEEE JSSC 24(5), 1989), with the current-factor and
threshold terms combined for I = beta/2 (V_GS - V_T)^2::

    (sigma_I / I)^2 = [A_beta^2 + (2 A_VT / V_ov)^2] / (W L)

so a unit source with relative mismatch sigma_u needs

    W L = [A_beta^2 + (2 A_VT / V_ov)^2] / sigma_u^2.

An N-bit current-steering DAC holds 2^N - 1 unit sources whatever its segmentation (a binary bit i is
2^i units, a thermometer code k is k units), so the array area is (2^N - 1) * W L, and the total DAC
area is that times ``area_overhead`` (decoders, switches, latches, routing).

When the profile gives no mismatch (``dac.unit_mismatch_sigma == 0``) the area is sized for an INL
yield instead (Van den Bosch, Steyaert, Sansen, "An accurate statistical yield model for CMOS
current-steering D/A converters", ISCAS 2000): the fraction of chips with |INL| < 0.5 LSB is about
``yield`` when

    sigma_u <= 1 / (2 C sqrt(2^N)),   C = Phi^-1(0.5 + yield / 2),

C ~ 2.97 for 99.7 % yield (C = 2 gives ~95.4 %). At a fixed yield sigma_u ~ 2^(-N/2), so the unit
area grows as 2^N and the array area as ~4^N.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from cryoctl.errors import CryoctlError


def inl_yield_c(inl_yield: float) -> float:
    """C = Phi^-1(0.5 + yield/2): the number of standard deviations that bounds |INL| at that yield."""
    if not 0.0 < inl_yield < 1.0:
        raise CryoctlError(f"expected a yield strictly between 0 and 1, got {inl_yield!r}", field="inl_yield")
    return float(ndtri(0.5 + inl_yield / 2.0))


def sigma_for_inl_yield(bits: np.ndarray | int, c: float = 3.0) -> np.ndarray:
    """Largest unit-source mismatch sigma_u = 1 / (2 C sqrt(2^N)) meeting the INL yield set by C."""
    if not c > 0:
        raise CryoctlError(f"expected C > 0, got {c!r}", field="C")
    return 1.0 / (2.0 * c * np.sqrt(np.exp2(np.asarray(bits, dtype=float))))


def inl_yield_for_sigma(bits: np.ndarray | int, sigma_u: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`sigma_for_inl_yield`: yield = 2 Phi(1 / (2 sigma_u sqrt(2^N))) - 1 (1 if sigma_u = 0)."""
    sigma_u = np.asarray(sigma_u, dtype=float)
    with np.errstate(divide="ignore"):
        c = 1.0 / (2.0 * sigma_u * np.sqrt(np.exp2(np.asarray(bits, dtype=float))))
    return 2.0 * ndtr(c) - 1.0


def pelgrom_constant_um2(a_beta_pct_um: float, a_vt_mv_um: float, overdrive_v: float) -> float:
    """A_beta^2 + (2 A_VT / V_ov)^2 in um^2 (A_beta given in %um, A_VT in mV um, V_ov in V)."""
    a_beta = a_beta_pct_um / 100.0
    a_vt_rel = 2.0 * a_vt_mv_um * 1e-3 / overdrive_v
    return a_beta**2 + a_vt_rel**2


def unit_area_um2(sigma_u: np.ndarray | float, a_beta_pct_um: float, a_vt_mv_um: float, overdrive_v: float) -> np.ndarray:
    """Gate area W L (um^2) of one unit current source with relative mismatch sigma_u."""
    sigma_u = np.asarray(sigma_u, dtype=float)
    if np.any(sigma_u <= 0):
        raise CryoctlError("expected sigma_u > 0 to size a current source", field="dac.unit_mismatch_sigma")
    return pelgrom_constant_um2(a_beta_pct_um, a_vt_mv_um, overdrive_v) / sigma_u**2


def unit_sources(bits: np.ndarray | int) -> np.ndarray:
    """2^N - 1 unit sources (binary, thermometer and segmented alike)."""
    return np.exp2(np.asarray(bits, dtype=float)) - 1.0


def array_area_um2(
    bits: np.ndarray | int, sigma_u: np.ndarray | float, a_beta_pct_um: float, a_vt_mv_um: float, overdrive_v: float
) -> np.ndarray:
    """Unit-source array area (um^2) of one N-bit channel: (2^N - 1) * W L."""
    return unit_sources(bits) * unit_area_um2(sigma_u, a_beta_pct_um, a_vt_mv_um, overdrive_v)
