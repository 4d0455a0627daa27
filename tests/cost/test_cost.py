"""Cost model: power ~2^N, area ~4^N at fixed INL yield, thermal floor, qubits that fit."""

import math

import numpy as np
import pytest

from cryoctl.cost import (
    K_B,
    channel_power_w,
    cost_report,
    dynamic_power_w,
    inl_yield_c,
    inl_yield_for_sigma,
    sigma_for_inl_yield,
    thermal_floor_w,
    unit_area_um2,
)
from cryoctl.errors import CryoctlError
from cryoctl.profile import validate_profile


def _profile(**dac):
    doc = {"name": "t", "dac": {"bits": 8, "sample_rate_gsps": 2.0, **dac}}
    return validate_profile(doc)


def test_thermal_floor_reproduces_published_numbers():
    # DESIGN.md: 0.65 mW at 300 K and 8.7 uW at 4 K for 12 bit, 2 GS/s.
    assert thermal_floor_w(12, 2.0, 300.0) == pytest.approx(0.65e-3, rel=0.01)
    assert thermal_floor_w(12, 2.0, 4.0) == pytest.approx(8.7e-6, rel=0.01)


def test_thermal_floor_closed_form_and_scaling():
    bits = np.arange(1, 17)
    p = thermal_floor_w(bits, 3.5, 77.0)
    np.testing.assert_allclose(p, 1.5 * np.pi * K_B * 77.0 * 3.5e9 * 4.0**bits, rtol=1e-13)
    np.testing.assert_allclose(p[1:] / p[:-1], 4.0, rtol=1e-13)
    # linear in temperature and rate
    assert thermal_floor_w(10, 1.0, 8.0) == pytest.approx(2 * thermal_floor_w(10, 1.0, 4.0), rel=1e-14)
    assert thermal_floor_w(10, 4.0, 4.0) == pytest.approx(4 * thermal_floor_w(10, 1.0, 4.0), rel=1e-14)


def test_power_scales_as_2_to_the_n_at_fixed_rate():
    bits = np.arange(2, 17)
    p = dynamic_power_w(bits, 2.0, 0.5)
    np.testing.assert_allclose(p[1:] / p[:-1], 2.0, rtol=1e-13)
    assert dynamic_power_w(10, 2.0, 0.5) == pytest.approx(0.5e-15 * 1024 * 2e9, rel=1e-14)
    # static adds a constant, so the *increment* still doubles with every bit
    pc = channel_power_w(bits, 2.0, 0.5, 1.0)
    np.testing.assert_allclose(pc - 1e-3, p, rtol=1e-12)
    # through the profile: cost_report agrees with the closed form for every resolution
    for n in (4, 6, 12):
        r = cost_report(_profile(bits=n))
        assert r["dynamic_power_w"] == pytest.approx(0.5e-15 * 2**n * 2e9, rel=1e-12)
        assert r["channel_power_w"] == pytest.approx(r["dynamic_power_w"] + 0.5e-3, rel=1e-12)


def test_inl_yield_sigma_and_c():
    # Van den Bosch: C = Phi^-1(0.5 + Y/2); 99.7 % -> ~2.97, 95.45 % -> 2
    assert inl_yield_c(0.997) == pytest.approx(2.9677, abs=1e-3)
    assert inl_yield_c(0.9545) == pytest.approx(2.0, abs=1e-3)
    assert sigma_for_inl_yield(10, 2.0) == pytest.approx(1 / (2 * 2 * 32), rel=1e-14)
    # round trip
    s = sigma_for_inl_yield(np.arange(2, 15), inl_yield_c(0.99))
    np.testing.assert_allclose(inl_yield_for_sigma(np.arange(2, 15), s), 0.99, rtol=1e-12)
    assert inl_yield_for_sigma(8, 0.0) == 1.0
    with pytest.raises(CryoctlError, match="inl_yield"):
        inl_yield_c(1.0)


def test_area_scales_as_4_to_the_n_at_fixed_inl_yield():
    bits = np.arange(2, 17)
    reports = [cost_report(_profile(bits=int(b)), inl_yield=0.997) for b in bits]
    assert {r["area_basis"] for r in reports} == {"inl_yield=0.997"}
    a = np.array([r["channel_area_mm2"] for r in reports])
    # (2^N - 1) units, each of area ~ 2^N: ratio 2 (2^(N+1)-1)/(2^N-1) -> 4
    ratio = a[1:] / a[:-1]
    expected = 2.0 * (2.0 ** bits[1:] - 1) / (2.0 ** bits[:-1] - 1)
    np.testing.assert_allclose(ratio, expected, rtol=1e-12)
    assert ratio[-1] == pytest.approx(4.0, rel=1e-4)
    # log-log slope over the sweep is 2 bits -> log2(4) = 2
    slope = np.polyfit(bits[4:], np.log2(a[4:]), 1)[0]
    assert slope == pytest.approx(2.0, abs=2e-3)


def test_pelgrom_unit_area_closed_form():
    # A_beta = 1 %um = 0.01 um; 2 A_VT / V_ov = 2 * 2.5e-3 / 0.2 = 0.025 um -> 7.25e-4 um^2 / sigma^2
    assert unit_area_um2(0.01, 1.0, 2.5, 0.2) == pytest.approx(7.25, rel=1e-12)
    assert unit_area_um2(0.005, 1.0, 2.5, 0.2) == pytest.approx(4 * 7.25, rel=1e-12)
    with pytest.raises(CryoctlError, match="unit_mismatch_sigma"):
        unit_area_um2(0.0, 1.0, 2.5, 0.2)


def test_area_tied_to_the_mismatch_knob():
    """The sigma that draws the chip's INL/DNL sizes its area: halve sigma -> 4x the area."""
    a = cost_report(_profile(bits=8, unit_mismatch_sigma=0.02))
    b = cost_report(_profile(bits=8, unit_mismatch_sigma=0.01))
    assert a["area_basis"] == "unit_mismatch_sigma" and a["sigma_u"] == 0.02
    assert b["channel_area_mm2"] == pytest.approx(4 * a["channel_area_mm2"], rel=1e-12)
    assert a["unit_sources"] == 255
    assert a["array_area_um2"] == pytest.approx(255 * 7.25e-4 / 0.02**2, rel=1e-12)
    assert a["channel_area_mm2"] == pytest.approx(a["array_area_um2"] * 3.0 * 1e-6, rel=1e-12)
    # sigma 0 -> sized for the INL yield
    c = cost_report(_profile(bits=8))
    assert c["area_basis"].startswith("inl_yield")
    assert c["sigma_u"] == pytest.approx(1 / (2 * inl_yield_c(0.997) * 16), rel=1e-12)
    assert c["inl_yield_estimate"] == pytest.approx(0.997, rel=1e-9)
    # the architecture does not change the unit count
    seg = cost_report(_profile(bits=8, architecture="segmented", unary_msbs=4, unit_mismatch_sigma=0.02))
    assert seg["array_area_um2"] == a["array_area_um2"]


def test_qubits_that_fit_is_consistent():
    doc = {
        "name": "t",
        "dac": {"bits": 6, "sample_rate_gsps": 1.0},
        "qubits": {"count": 8},
        "cost": {"stage_budget_w": 0.01, "static_power_mw": 1.0, "fom_fj_per_step": 1.0, "channels_per_qubit": 2},
    }
    r = cost_report(validate_profile(doc))
    p_chan = 1e-15 * 64 * 1e9 + 1e-3
    assert r["channel_power_w"] == pytest.approx(p_chan, rel=1e-12)
    assert r["power_per_qubit_w"] == pytest.approx(2 * p_chan, rel=1e-12)
    assert r["system_power_w"] == pytest.approx(16 * p_chan, rel=1e-12)
    assert r["qubits_that_fit"] == math.floor(0.01 / (2 * p_chan)) == 4
    # the count that fits really fits, one more does not
    assert r["qubits_that_fit"] * r["power_per_qubit_w"] <= 0.01 < (r["qubits_that_fit"] + 1) * r["power_per_qubit_w"]
    assert r["system_fits"] is False and r["stage_fraction"] == pytest.approx(16 * p_chan / 0.01)


def test_cost_report_is_json_ready():
    import json

    r = cost_report(_profile(bits=12, unit_mismatch_sigma=0.01))
    assert json.loads(json.dumps(r)) == r


def test_shipped_cryo_cmos_profiles_within_published_per_qubit_power():
    """DESIGN.md: published cryo-CMOS controllers dissipate < 2 mW/qubit (28 nm, 3 K) to 23 mW/qubit
    (14 nm FinFET, 4 K); the 4 K stage has ~1.5 W, so at least ~65 such qubits must fit."""
    from cryoctl.profile import load_profile

    for name in ("cryo_cmos_4bit", "cryo_cmos_6bit", "cryo_cmos_8bit"):
        r = cost_report(load_profile(name))
        assert r["temperature_k"] <= 4.0
        assert 0.1e-3 < r["power_per_qubit_w"] < 23e-3, (name, r["power_per_qubit_w"])
        assert r["qubits_that_fit"] >= math.floor(1.5 / 23e-3)
        assert r["thermal_floor_w"] < r["channel_power_w"]  # dissipation above the kT bound


@pytest.mark.parametrize("arch, bits", [("thermometer", 8), ("binary", 10)])
def test_area_sizing_delivers_the_inl_yield_on_the_dac_model(arch, bits):
    """One knob, coupled consequences: the sigma_u the cost layer sizes the current sources for
    (sigma_u = 1/(2 C sqrt(2^N)), 99.7 % INL yield) gives chips of the DAC layer's mismatch model whose
    max |INL| < 0.5 LSB in >= 99.7 % of 2000 draws; 4x that sigma (1/16 of the area) fails most chips.
    (The rule is conservative at high yield, optimistic near 50 %: DESIGN says 'roughly'.)"""
    from cryoctl.cost.area import inl_yield_c, sigma_for_inl_yield
    from cryoctl.dac.metrics import inl
    from cryoctl.dac.static import draw_mismatch, levels_from_mismatch
    from cryoctl.profile import DacSpec

    sigma = float(sigma_for_inl_yield(bits, inl_yield_c(0.997)))
    z = draw_mismatch(DacSpec(bits=bits, architecture=arch), np.random.default_rng(7), 2000)
    for scale, check in ((1.0, lambda y: y >= 0.997), (4.0, lambda y: y < 0.5)):
        spec = DacSpec(bits=bits, architecture=arch, unit_mismatch_sigma=sigma * scale)
        yield_mc = float(np.mean(np.abs(inl(levels_from_mismatch(spec, z))).max(axis=-1) < 0.5))
        assert check(yield_mc), (scale, yield_mc)
