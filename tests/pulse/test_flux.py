"""Flux pulses: tuning curve, CZ envelopes and codes, the flux line and its predistortion, the flux drive."""

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile import FluxLineSpec, FluxPredistortion, load_profile, profile_hash, validate_profile
from cryoctl.pulse.flux import (
    FluxDrive,
    FluxLine,
    cz_codes,
    cz_envelope,
    flux_for_frequency,
    frequency_slope,
    transmon_frequency,
)

FLUX = {
    "dac": {"bits": 16},
    "full_scale_phi0": 0.25,
    "qubits": [{"index": 0, "f_max_ghz": 6.0}, {"index": 1, "f_max_ghz": 5.0, "asymmetry": 1.0}],
}


def _profile(**flux):
    return validate_profile({"name": "t", "dac": {"bits": 8}, "qubits": {"count": 2}, "flux": {**FLUX, **flux}})


def test_tuning_curve_closed_form_and_inverse():
    f_max, alpha = 6.0, -0.3
    assert transmon_frequency(0.0, f_max, 0.0, alpha) == pytest.approx(f_max, abs=1e-15)
    # Phi = 1/2: [d^2]^(1/4) = sqrt(d)
    assert transmon_frequency(0.5, f_max, 0.36, alpha) == pytest.approx((f_max - alpha) * 0.6 + alpha, abs=1e-12)
    # symmetric transmon at Phi = 1/4: cos^2 = 1/2 -> (1/2)^(1/4)
    assert transmon_frequency(0.25, f_max, 0.0, alpha) == pytest.approx(6.3 * 0.5**0.25 - 0.3, abs=1e-12)
    assert np.allclose(transmon_frequency(np.linspace(-0.5, 0.5, 11), f_max, 1.0, alpha), f_max, atol=1e-12)
    phi = np.linspace(0.0, 0.45, 10)
    for d in (0.0, 0.3):
        f = transmon_frequency(phi, f_max, d, alpha)
        assert np.allclose(flux_for_frequency(f, f_max, d, alpha), phi, atol=1e-10)
        h = 1e-6
        fd = (transmon_frequency(phi + h, f_max, d, alpha) - transmon_frequency(phi - h, f_max, d, alpha)) / (2 * h)
        assert np.allclose(frequency_slope(phi, f_max, d, alpha), fd, rtol=1e-6, atol=1e-8)
    with pytest.raises(CryoctlError) as e:
        flux_for_frequency(6.5, f_max, 0.0, alpha)
    assert e.value.field == "flux.qubits"


def test_cz_envelopes_sum_and_symmetry():
    n, r = 40, 5
    e = cz_envelope(n, r)
    # each cosine ramp sums to r/2 exactly (the cosines at sample midpoints cancel)
    assert e.sum() == pytest.approx(n - r, abs=1e-12)
    assert np.array_equal(e, e[::-1]) and e.max() == 1.0 and 0 < e[0] < 0.05
    nz = cz_envelope(n, r, "net_zero")
    assert nz.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.array_equal(np.abs(nz), e)  # even n: |net-zero| is the unipolar pulse
    odd = cz_envelope(41, r, "net_zero")
    assert odd[20] == 0.0 and odd.sum() == pytest.approx(0.0, abs=1e-12)
    codes = cz_codes(np.array([1000, 2001]), np.array([40, 38]), r, 44)
    assert codes.shape == (2, 44) and codes.dtype == np.int64
    assert np.all(codes[:, 38:] >= 0) and np.all(codes[0, 40:] == 0) and np.all(codes[1, 38:] == 0)
    assert codes[1, 10] == 2001 and codes[0, 0] == round(1000 * e[0])
    for bad in (dict(shape="square"), dict(n_samples=8, rise_samples=5)):
        args = {"n_samples": 40, "rise_samples": 5, "shape": "unipolar", **bad}
        with pytest.raises(CryoctlError):
            cz_envelope(**args)


@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_flux_line_sections_are_the_sample_averaged_step_responses(dt):
    """Step input: each section's output is the exact average over every sample of its continuous step response."""
    k = np.arange(200)
    t0 = k * dt  # sample k holds on [k dt, (k + 1) dt)

    def mean_exp(tau):  # (1/dt) * integral of exp(-t/tau) over every sample [t0, t1]
        return (tau / dt) * np.exp(-t0 / tau) * -np.expm1(-dt / tau)

    step = np.ones(200)
    a, tau = 0.02, 100.0
    tail = FluxLine(FluxLineSpec(tails=[{"amplitude": a, "tau_ns": tau}]), dt).apply(step)
    assert np.allclose(tail, 1 + a * mean_exp(tau), atol=1e-12, rtol=0)
    tb = 1000.0
    bias = FluxLine(FluxLineSpec(bias_tee_tau_ns=tb), dt).apply(step)
    assert np.allclose(bias, mean_exp(tb), atol=1e-12, rtol=0)
    f3 = 0.3
    tl = 1 / (2 * np.pi * f3)
    bw = FluxLine(FluxLineSpec(bandwidth_ghz=f3), dt).apply(step)
    assert np.allclose(bw, 1 - mean_exp(tl), atol=1e-12, rtol=0)
    # two parallel tails: step response 1 + a1 e^-t/tau1 + a2 e^-t/tau2
    two = FluxLine(FluxLineSpec(tails=[{"amplitude": a, "tau_ns": tau}, {"amplitude": -0.01, "tau_ns": 20.0}]), dt)
    assert np.allclose(two.apply(step), 1 + a * mean_exp(tau) - 0.01 * mean_exp(20.0), atol=1e-12, rtol=0)


def test_predistortion_inverts_the_line_to_its_coefficient_precision():
    spec = FluxLineSpec(bias_tee_tau_ns=2000.0, tails=[{"amplitude": 0.02, "tau_ns": 100.0}, {"amplitude": -0.01, "tau_ns": 15.0}])
    line = FluxLine(spec, 1.0)
    x = np.concatenate([cz_envelope(50, 5, "net_zero"), np.zeros(30)]) * 1000.0
    residual = {}
    for bits in (6, 12, 22, 40):
        y = line.apply(line.predistort(x, FluxPredistortion(coefficient_bits=bits)))
        residual[bits] = np.abs(y - x).max()
        for b, a in line.inverse_sections(FluxPredistortion(coefficient_bits=bits)):
            assert np.all(np.round(b * 2**bits) == b * 2**bits) and a[0] == 1.0
    assert residual[40] < 1e-6  # 2^-40 coefficients: ~1e-9 of the pulse
    # the residual falls ~2x per coefficient bit (not monotonically bit by bit: rounding luck)
    assert residual[6] > 30 * residual[12] and residual[12] > 30 * residual[22] and residual[22] > 1e4 * residual[40]
    assert residual[6] > 10.0  # 6-bit coefficients leave a visible error on a 1000-code pulse
    assert np.abs(line.apply(x) - x).max() > 15.0  # the uncorrected line is far off (~2 % of 1000)


def test_flux_drive_codes_to_frequency_shift():
    p = _profile()
    drive = FluxDrive(p.flux, 0, p.transmon(0).anharmonicity_ghz)
    assert drive.idle_frequency_ghz == 6.0 and drive.phi_per_code == 0.25 / 2**15
    codes = cz_codes(20000, 40, 5, 42)
    s = drive.signal(codes)
    assert s.shape == (42,) and np.all(s[40:] == 0.0)
    flat = 2 * np.pi * (transmon_frequency(20000 * 0.25 / 2**15, 6.0, 0.0, -0.3) - 6.0)
    assert s[20] == pytest.approx(flat, rel=1e-13)
    # the code for a target frequency reaches it on the ideal DAC
    c = drive.code_for_frequency(5.3)
    assert transmon_frequency(c * drive.phi_per_code, 6.0, 0.0, -0.3) == pytest.approx(5.3, abs=1e-12)
    # net-zero: both halves give the same detuning (f even in Phi about the sweet spot)
    nz = drive.signal(cz_codes(20000, 40, 5, 40, "net_zero"))
    assert np.allclose(nz, s[:40], atol=1e-12)
    # idle bias away from the sweet spot moves the code for the same frequency
    p2 = _profile(qubits=[{"index": 0, "f_max_ghz": 6.0, "idle_flux_phi0": 0.01}])
    d2 = FluxDrive(p2.flux, 0, -0.3)
    assert d2.code_for_frequency(5.3) == pytest.approx(c - 0.01 / drive.phi_per_code, abs=1e-6)


def test_flux_drive_with_dac_offset_idles_at_code_zero():
    p = _profile(dac={"bits": 12, "offset_v": 0.01, "unit_mismatch_sigma": 0.01, "mismatch_seed": 3})
    drive = FluxDrive(p.flux, 0, -0.3)
    assert np.all(drive.signal(np.zeros(10, dtype=int)) == 0.0)
    v = drive.dac.static(np.array([0, 1000]))
    phi = drive.flux(np.array([1000]))
    assert phi[0] == pytest.approx((v[1] - v[0]) * 0.25, rel=1e-12)


def test_flux_drive_predistortion_and_errors():
    p = _profile(line={"tails": [{"amplitude": 0.02, "tau_ns": 100.0}]}, predistortion={"coefficient_bits": 14})
    drive = FluxDrive(p.flux, 0, -0.3)
    codes = cz_codes(20000, 40, 5, 60)
    played = drive.predistorted_codes(codes)
    assert played.dtype == np.int64 and not np.array_equal(played, codes)
    # line(predistorted) ~ codes to rounding (the played codes are integers)
    assert np.abs(drive.line.apply(played) - codes).max() < 2.0
    big = _profile(line={"tails": [{"amplitude": -0.2, "tau_ns": 100.0}]}, predistortion={"coefficient_bits": 14})
    with pytest.raises(CryoctlError) as e:
        FluxDrive(big.flux, 0, -0.3).predistorted_codes(cz_codes(32000, 40, 5, 60))
    assert e.value.field == "flux.predistortion"
    with pytest.raises(CryoctlError) as e:
        FluxDrive(p.flux, 3, -0.3)
    assert e.value.field == "flux.qubits"
    with pytest.raises(CryoctlError) as e:
        drive.signal(np.array([40000]))
    assert e.value.field == "code"


def test_profile_flux_section_is_optional_and_validated():
    base = load_profile("cryo_cmos_6bit")
    assert base.flux is None and "flux" not in base.model_dump(mode="json")
    with_flux = load_profile("cryo_cmos_6bit", ["flux={dac: {bits: 14}, qubits: [{index: 0, f_max_ghz: 6.0}]}"])
    assert with_flux.flux.dac.bits == 14 and profile_hash(with_flux) != profile_hash(base)
    with pytest.raises(CryoctlError):
        load_profile("cryo_cmos_6bit", ["flux={dac: {bits: 14}, qubits: [{index: 0, f_max_ghz: 6.0}, {index: 0, f_max_ghz: 5.0}]}"])
    with pytest.raises(CryoctlError):
        load_profile("cryo_cmos_6bit", ["flux={dac: {bits: 14}, line: {tails: [{amplitude: 0.7, tau_ns: 10.0}]}}"])
