"""Pulse layer: envelopes, DRAG, I/Q channel routing, scaled vs sampled amplitude, drive gain, virtual Z."""

import numpy as np
import pytest

from cryoctl.dac import Dac
from cryoctl.errors import CryoctlError
from cryoctl.gates.table import virtual_z as table_virtual_z
from cryoctl.profile import validate_profile
from cryoctl.pulse import (
    Drive,
    drag_quadrature,
    drive_gain,
    lifted_gaussian,
    lifted_gaussian_derivative,
    quantize_phase,
    sample_times,
    virtual_z,
)


def _profile(dac=None, pulse=None, qubits=None):
    return validate_profile(
        {"name": "t", "dac": {"bits": 8, **(dac or {})}, "pulse": pulse or {}, "qubits": {"count": 2, **(qubits or {})}}
    )


def test_lifted_gaussian_closed_form():
    t = sample_times(40.0, 1.0)
    assert t[0] == 0.5 and t[-1] == 39.5 and t.size == 40
    g = np.exp(-((t - 20) ** 2) / 200) - np.exp(-2.0)
    g /= g.max()
    env = lifted_gaussian(40.0, 10.0, 1.0)
    np.testing.assert_allclose(env, g, rtol=0, atol=1e-15)
    assert env.max() == 1.0
    np.testing.assert_allclose(env, env[::-1], atol=1e-15)  # symmetric about T/2
    # lifted: the continuous envelope is zero at t = 0, so the first midpoint sample is ~ g'(0) dt/2
    assert env[0] == pytest.approx((np.exp(-(19.5**2) / 200) - np.exp(-2.0)) / (np.exp(-0.25 / 200) - np.exp(-2.0)))
    assert env[0] < 0.02


def test_drag_derivative_is_analytic_and_matches_finite_difference():
    t = sample_times(40.0, 1.0)
    peak = lifted_gaussian(40.0, 10.0, 1.0)
    norm = (np.exp(-(t - 20) ** 2 / 200) - np.exp(-2.0)).max()

    def f(x):  # the continuous envelope, same normalisation as the samples
        return (np.exp(-((x - 20) ** 2) / 200) - np.exp(-2.0)) / norm

    np.testing.assert_allclose(f(t), peak, atol=1e-15)
    h = 1e-5
    d = lifted_gaussian_derivative(40.0, 10.0, 1.0)
    np.testing.assert_allclose(d, (f(t + h) - f(t - h)) / (2 * h), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(d[:20], -d[::-1][:20], atol=1e-15)  # antisymmetric about T/2
    q = drag_quadrature(d, 0.5, -0.3)
    np.testing.assert_allclose(q, -0.5 * d / (2 * np.pi * -0.3))
    assert np.all(q[:20] > 0)  # rising edge with alpha < 0 -> positive quadrature
    assert drag_quadrature(d, np.array([0.0, 1.0]), -0.3).shape == (2, 40)


def test_drive_gain_puts_continuous_pi_at_fraction_of_full_scale():
    p = _profile(pulse={"pi_amplitude_fraction": 0.8}, dac={"full_scale_v": 0.5})
    env = lifted_gaussian(40.0, 10.0, 1.0)
    g = drive_gain(p)
    assert g * 0.8 * 0.5 * env.sum() * 1.0 == pytest.approx(np.pi, rel=1e-14)


def test_scaled_mode_x_on_i_dac_y_on_q_dac_with_their_own_mismatch():
    p = _profile(dac={"unit_mismatch_sigma": 0.05, "mismatch_seed": 3}, pulse={"shape": "drag"})
    drive = Drive(p, qubit=1)
    dac_i, dac_q = Dac(p.dac, 2), Dac(p.dac, 3)
    assert not np.array_equal(dac_i.levels, dac_q.levels)
    codes = np.array([-128, -5, 0, 77, 127])
    env = lifted_gaussian(40.0, 10.0, 1.0)
    q = drag_quadrature(lifted_gaussian_derivative(40.0, 10.0, 1.0), 0.4, -0.3)
    vi, vq = drive.static_volts(codes, "x", 0.4)
    np.testing.assert_array_equal(vi, dac_i.static(codes)[:, None] * env)
    np.testing.assert_array_equal(vq, dac_q.static(codes)[:, None] * q)
    vi, vq = drive.static_volts(codes, "y", 0.4)
    np.testing.assert_array_equal(vq, dac_q.static(codes)[:, None] * env)
    np.testing.assert_array_equal(vi, dac_i.static(codes)[:, None] * -q)
    wi, wq = drive.omegas(codes, "y", 0.4)
    np.testing.assert_allclose(wq, drive.gain * vq)


def test_sampled_mode_quantizes_every_sample():
    p = _profile(dac={"bits": 4, "unit_mismatch_sigma": 0.05}, pulse={"amplitude_mode": "sampled"})
    drive = Drive(p, 0)
    env = lifted_gaussian(40.0, 10.0, 1.0)
    ci, cq = drive.channel_codes(np.array([7, -8, 3]), "x", 0.0)
    np.testing.assert_array_equal(ci, np.rint(np.array([7, -8, 3])[:, None] * env).astype(int))
    assert np.all(cq == 0)
    # the shape is quantized: a 4-bit 7-code pulse has only a handful of distinct levels
    assert np.unique(ci[0]).size <= 8
    vi, vq = drive.static_volts(np.array([7]), "x", 0.0)
    np.testing.assert_array_equal(vi[0], Dac(p.dac, 0).static(ci[0]))


def test_oversampling_holds_each_sample():
    p = _profile(dac={"oversampling": 4})
    drive = Drive(p, 0)
    wi, _ = drive.omegas(np.array([100]), "x", 0.0)
    assert wi.shape == (1, 160) and drive.dt_sim_ns == 0.25
    np.testing.assert_array_equal(wi[0].reshape(40, 4), np.repeat(wi[0, ::4, None], 4, axis=1))


def test_noise_draws_are_reproducible_and_need_a_generator():
    p = _profile(dac={"noise_v_per_sqrt_hz": 1e-7})
    drive = Drive(p, 0)
    a = drive.omegas(np.array([50, 60]), "x", 0.0, np.random.default_rng(4))
    b = drive.omegas(np.array([50, 60]), "x", 0.0, np.random.default_rng(4))
    c = drive.omegas(np.array([50, 60]), "x", 0.0, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_bad_requests_name_the_field():
    drive = Drive(_profile(), 0)
    with pytest.raises(CryoctlError, match="code"):
        drive.omegas(np.array([128]), "x", 0.0)
    with pytest.raises(CryoctlError, match="axis"):
        drive.omegas(np.array([1]), "z", 0.0)
    with pytest.raises(CryoctlError, match="qubit"):
        Drive(_profile(), 5)


def test_virtual_z_and_phase_resolution():
    from scipy.linalg import expm

    phi = 0.7
    u = virtual_z(phi, 3)
    # qubit block is exactly RZ(phi) = exp(-i phi Z / 2); level 2 picks up twice the frame phase
    np.testing.assert_allclose(u[:2, :2], expm(-0.5j * phi * np.diag([1.0, -1.0])), atol=1e-14)
    np.testing.assert_allclose(u[2, 2] / u[0, 0], np.exp(2j * phi), atol=1e-14)
    assert table_virtual_z is virtual_z  # the GateTable import path still works
    # 3 phase bits: steps of pi/4
    assert quantize_phase(0.5, 3) == pytest.approx(np.pi / 4) and quantize_phase(0.3, 3) == 0.0
    np.testing.assert_allclose(virtual_z(0.5, 2, phase_bits=3), virtual_z(np.pi / 4, 2))


@pytest.mark.parametrize("filt", [{"kind": "bessel", "order": 4, "cutoff_ghz": 0.3},
                                  {"kind": "butterworth", "order": 6, "cutoff_ghz": 0.2}])
def test_reconstruction_filter_tail_is_inside_the_window(filt):
    """The window gets 1 leading and ceil(n / (f_c dt)) trailing idle samples; with the filter's DC gain
    of 1 the pulse area (hence the two-level rotation angle) is that of the unfiltered pulse."""
    plain = Drive(_profile(dac={"oversampling": 8}), 0)
    filtered = Drive(_profile(dac={"oversampling": 8, "reconstruction_filter": filt}), 0)
    assert filtered.n_samples == 40 + 1 + int(np.ceil(filt["order"] / filt["cutoff_ghz"]))
    w0, _ = plain.omegas(np.array([100, -77]), "x", 0.0)
    w1, _ = filtered.omegas(np.array([100, -77]), "x", 0.0)
    np.testing.assert_allclose(w1.sum(axis=-1), w0.sum(axis=-1), rtol=1e-6)
    assert np.abs(w1[:, -8:]).max() < 1e-5 * np.abs(w1).max()  # the tail has died out
    assert not np.allclose(w1[:, 8:8 + 320], w0)  # but the shape is filtered


def test_signals_map_volts_to_engine_channels():
    """Drive.signals is the one volts -> signals map: G hold(v) on the simulation grid, or G v per DAC
    sample (refused with a reconstruction filter, which mixes samples)."""
    p = _profile(dac={"oversampling": 3})
    d = Drive(p, 1)
    v_i, v_q = d.static_volts(np.array([40, -17]), "y", 0.4)
    sig = d.signals(v_i, v_q)
    assert set(sig) == {"xy_i", "xy_q"} and sig["xy_i"].shape == (2, 3 * d.n_samples)
    np.testing.assert_array_equal(sig["xy_q"], d.gain * np.repeat(v_q, 3, axis=-1))
    np.testing.assert_array_equal(d.signals(v_i, v_q, hold=False)["xy_i"], d.gain * v_i)
    w_i, w_q = d.omegas(np.array([40, -17]), "y", 0.4)
    np.testing.assert_array_equal(w_i, sig["xy_i"])
    filt = Drive(_profile(dac={"oversampling": 4, "reconstruction_filter": {"cutoff_ghz": 0.4}}), 0)
    with pytest.raises(CryoctlError) as err:
        filt.signals(v_i[:, :1], v_q[:, :1], hold=False)
    assert err.value.field == "dac.reconstruction_filter"


def test_drive_jitter_is_common_to_i_and_q():
    """One clock: with jitter only, every sample's I and Q errors are the same edge error d_k times
    each channel's slope, so eps_I / slope_I == eps_Q / slope_Q."""
    p = _profile(dac={"jitter_rms_ps": 50.0}, pulse={"shape": "drag", "drag_beta": 0.7})
    d = Drive(p, 0)
    codes = np.array([[90], [-60]])
    v_i, v_q = d.static_volts(codes, "x", 0.7)
    n_i, n_q = d.volts(codes, "x", 0.7, np.random.default_rng(1))
    s_i, s_q = np.diff(v_i, prepend=v_i[..., :1]), np.diff(v_q, prepend=v_q[..., :1])
    both = (s_i != 0) & (s_q != 0)
    assert both.sum() > 20
    np.testing.assert_allclose(((n_i - v_i) / np.where(both, s_i, 1))[both],
                               ((n_q - v_q) / np.where(both, s_q, 1))[both], rtol=1e-9)
