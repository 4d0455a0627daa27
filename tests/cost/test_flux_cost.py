"""Flux-DAC cost: the XY DAC's FoM / thermal-floor / Pelgrom models at the flux DAC's bits and rate, added to
the per-qubit and system totals."""

import math

import numpy as np
import pytest

from cryoctl.cost import K_B, cost_report, flux_cost, pelgrom_constant_um2
from cryoctl.gates.cz import flux_bits_overrides
from cryoctl.profile import load_profile

NAME = "cryo_cmos_6bit_flux"  # 12-bit 1 GS/s flux DACs, 2 % mismatch, 4 tunable qubits; cost of _cryo_cmos_base


def _at(bits, *extra):
    base = load_profile(NAME)
    return load_profile(NAME, [*flux_bits_overrides(base, bits), *extra])


def test_flux_power_closed_form_and_doubling_per_bit():
    p = load_profile(NAME)
    r = cost_report(p)
    # 0.5 fJ/step x 2^12 x 1 GS/s + 0.5 mW static = 2.548 mW per flux DAC, 4 of them
    assert r["flux_channels"] == 4 and r["flux_bits"] == 12 and r["flux_sample_rate_gsps"] == 1.0
    assert r["flux_dynamic_power_w"] == pytest.approx(0.5e-15 * 4096 * 1e9, rel=1e-12)
    assert r["flux_channel_power_w"] == pytest.approx(2.048e-3 + 0.5e-3, rel=1e-12)
    assert r["flux_system_power_w"] == pytest.approx(4 * 2.548e-3, rel=1e-12)
    dyn = np.array([cost_report(_at(n))["flux_dynamic_power_w"] for n in range(8, 15)])
    np.testing.assert_allclose(dyn[1:] / dyn[:-1], 2.0, rtol=1e-12)
    # the thermal floor 1.5 pi k T f 4^N at the flux DAC's rate: x4 per bit
    assert r["flux_thermal_floor_w"] == pytest.approx(1.5 * math.pi * K_B * 4.0 * 1e9 * 4.0**12, rel=1e-12)
    assert cost_report(_at(13))["flux_thermal_floor_w"] == pytest.approx(4 * r["flux_thermal_floor_w"], rel=1e-12)
    # linear in the flux DAC's sample rate, independent of the XY DAC's
    assert cost_report(_at(12, "flux.dac.sample_rate_gsps=2.0"))["flux_dynamic_power_w"] == pytest.approx(
        2 * r["flux_dynamic_power_w"], rel=1e-12)
    assert cost_report(_at(12, "dac.sample_rate_gsps=4.0"))["flux_channel_power_w"] == r["flux_channel_power_w"]


def test_flux_dacs_are_added_to_the_per_qubit_and_system_totals():
    xy_only, with_flux = cost_report(load_profile("cryo_cmos_6bit")), cost_report(load_profile(NAME))
    assert "flux_channels" not in xy_only and xy_only["power_per_qubit_w"] == xy_only["xy_power_per_qubit_w"]
    assert with_flux["xy_power_per_qubit_w"] == pytest.approx(xy_only["power_per_qubit_w"], rel=1e-14)
    # 1.128 mW of XY per qubit + one 2.548 mW flux DAC per qubit = 3.676 mW per qubit
    assert with_flux["power_per_qubit_w"] == pytest.approx(1.128e-3 + 2.548e-3, rel=1e-12)
    assert with_flux["system_power_w"] == pytest.approx(4 * 3.676e-3, rel=1e-12)
    assert with_flux["qubits_that_fit"] == math.floor(1.5 / 3.676e-3) == 408
    assert with_flux["area_per_qubit_mm2"] == pytest.approx(
        with_flux["xy_area_per_qubit_mm2"] + with_flux["flux_area_per_qubit_mm2"], rel=1e-14)
    # a fixed-frequency transmon (asymmetry 1) has no flux DAC: half the qubits fixed -> half the flux power
    fixed = cost_report(load_profile(NAME, [
        "flux.qubits=[{index: 0, f_max_ghz: 6.0, asymmetry: 0.3}, {index: 1, f_max_ghz: 5.0, asymmetry: 1.0}, "
        "{index: 2, f_max_ghz: 6.1, asymmetry: 0.3}, {index: 3, f_max_ghz: 5.1, asymmetry: 1.0}]"]))
    assert fixed["flux_channels"] == 2
    assert fixed["flux_power_per_qubit_w"] == pytest.approx(with_flux["flux_power_per_qubit_w"] / 2, rel=1e-12)
    assert flux_cost(load_profile("cryo_cmos_6bit")) == {}


def test_flux_area_from_pelgrom_at_the_flux_dacs_mismatch():
    p = load_profile(NAME)
    r = cost_report(p)
    k = pelgrom_constant_um2(p.cost.a_beta_pct_um, p.cost.a_vt_mv_um, p.cost.overdrive_v)
    # overhead x (2^12 - 1) units x K / sigma^2, sigma = the flux DAC's 2 % unit mismatch
    assert r["flux_area_basis"] == "unit_mismatch_sigma" and r["flux_sigma_u"] == 0.02
    assert r["flux_channel_area_mm2"] == pytest.approx(3.0 * 4095 * k / 0.02**2 * 1e-6, rel=1e-12)
    assert r["flux_system_area_mm2"] == pytest.approx(4 * r["flux_channel_area_mm2"], rel=1e-12)
    # fixed sigma: the array grows with the unit count, (2^(N+1) - 1) / (2^N - 1)
    a = np.array([cost_report(_at(n))["flux_channel_area_mm2"] for n in range(8, 13)])
    units = 2.0 ** np.arange(8, 13) - 1
    np.testing.assert_allclose(a[1:] / a[:-1], units[1:] / units[:-1], rtol=1e-12)
    # no mismatch given: sized for the INL yield, sigma ~ 2^(-N/2) -> area ~ 4^N
    y = np.array([cost_report(_at(n, "flux.dac.unit_mismatch_sigma=0.0"))["flux_channel_area_mm2"] for n in (10, 11)])
    assert y[1] / y[0] == pytest.approx(2 * (2**11 - 1) / (2**10 - 1), rel=1e-12)
