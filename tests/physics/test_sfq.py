"""SFQ kick-and-precess physics (cryoctl/physics/sfq.py) against closed forms and a second engine (QuTiP).

Reference point (hw_profiles/sfq_ersfq.yaml): f_01 = 5 GHz, clock 20 GHz (m = 4 ticks per qubit period),
alpha / 2 pi = -0.3 GHz, dtheta = 0.0297 rad.
"""

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.gates.metrics import average_gate_fidelity, rotation
from cryoctl.physics.sfq import FWHM_PER_SIGMA, KickPrecess, qutip_gaussian_train, sfq_model
from cryoctl.pulse.sfq import jitter_delays, pack, resonant_train, unpack

F01, M, ALPHA, DTHETA = 5.0, 4, -0.3, 0.0297
T_CLK = 1.0 / (M * F01)


def _kp(levels):
    return KickPrecess(sfq_model(levels, F01, ALPHA), T_CLK, DTHETA)


def test_two_level_resonant_train_is_exactly_a_y_rotation_by_k_dtheta():
    """d = 2: one pulse per qubit period, U_free(T_q) = 1 in the qubit frame, so U = R_y(k dtheta) exactly."""
    kp = _kp(2)
    k = np.arange(0, 80)
    u = kp.gate(resonant_train(k, M))
    np.testing.assert_allclose(u, rotation("y", k * DTHETA), atol=1e-12)
    # the kick itself is exp(-i dtheta sigma_y / 2)
    np.testing.assert_allclose(kp.kick, rotation("y", DTHETA), atol=1e-15)


def test_off_resonant_pulse_rotates_about_a_rotated_axis():
    """A pulse one tick (a quarter period) late kicks about the axis rotated by w_01 T_clk = pi/2 in the xy plane:
    in the qubit frame exp(i w n t) rotates y into -x, so two-tick trains [1, 1] give R(-x) R(y) (closed form)."""
    kp = _kp(2)
    u = kp.gate(np.array([1, 1, 0, 0], bool))
    late = rotation("x", -DTHETA)  # the second pulse, a quarter period later
    np.testing.assert_allclose(u, late @ rotation("y", DTHETA), atol=1e-12)


def test_jittered_kick_is_the_conjugated_kick_and_matches_split_precession():
    kp = _kp(3)
    rng = np.random.default_rng(3)
    bits = rng.random((2, 40)) < 0.4
    delays = jitter_delays(rng, bits.shape, 5.0)
    # independent construction: free(T - delta) kick free(delta) for each pulse, free(T) otherwise
    expect = np.empty((2, 3, 3), complex)
    for b in range(2):
        u = np.eye(3, dtype=complex)
        for j in range(40):
            step = (kp.free(T_CLK - delays[b, j]) @ kp.kick @ kp.free(delays[b, j])) if bits[b, j] else kp.free(T_CLK)
            u = step @ u
        expect[b] = u
    np.testing.assert_allclose(kp.propagate(bits, delays), expect, atol=1e-12)
    with pytest.raises(CryoctlError) as e:
        kp.propagate(bits, np.full(bits.shape, T_CLK))
    assert e.value.field == "delays_ns"


def test_jitter_infidelity_matches_the_first_order_closed_form():
    """d = 2, k resonant pulses with independent timing errors delta_j ~ N(0, s^2): each kick's axis turns by
    w_01 delta_j, an error rotation dtheta w_01 delta_j orthogonal to y, so against R_y(k dtheta)

        E[1 - F] = E|eps|^2 / 6 = k dtheta^2 w_01^2 s^2 / 6          (1 ps: 7.7e-6 for k = 53)."""
    # one tick per qubit period (clock = f_01): the same pulses as ticks 0, m, 2m, ... of the 20 GHz clock
    kp = KickPrecess(sfq_model(2, F01, ALPHA), 1.0 / F01, DTHETA)
    k, draws, s_ns = 53, 8000, 1e-3
    delays = jitter_delays(np.random.default_rng(7), (draws, k), 1.0)
    u = kp.gate(np.ones((draws, k), bool), delays)
    err = 1 - average_gate_fidelity(u, "unitary", "y", k * DTHETA)
    expect = k * DTHETA**2 * (kp.omega01 * s_ns) ** 2 / 6
    assert err.mean() == pytest.approx(expect, rel=0.05)
    assert 5e-6 < expect < 1e-5


def test_bitstream_words_round_trip():
    bits = np.random.default_rng(0).random((3, 37)) < 0.5
    words = pack(bits)
    assert words.dtype == np.uint8 and words.shape == (3, 5)
    np.testing.assert_array_equal(unpack(words, 37), bits)
    assert pack(np.array([1, 0, 0, 0, 0, 0, 0, 1], bool))[0] == 0b10000001  # earliest tick in the MSB


def test_model_and_input_errors():
    with pytest.raises(CryoctlError) as e:
        KickPrecess(sfq_model(3, F01, ALPHA), T_CLK, 1.5)
    assert e.value.field == "tip_angle"
    with pytest.raises(CryoctlError) as e:
        _kp(3).propagate(np.array([0, 2, 1]))
    assert e.value.field == "bits"
    with pytest.raises(CryoctlError) as e:
        resonant_train(np.array(10), 4, 20)
    assert e.value.field == "length"


def test_finite_gaussian_pulses_scale_the_tip_angle_by_the_fourier_factor():
    """QuTiP, d = 2, Gaussian pulses (FWHM 2 ps) on the lab-frame Hamiltonian: to first order (Magnus) a pulse
    centred in phase kicks by dtheta exp(-(w_01 sigma)^2 / 2), the Gaussian's Fourier transform at w_01
    (1 - 3.6e-4 here); so k pulses rotate by k dtheta exp(-(w sigma)^2 / 2) about y."""
    kp = _kp(2)
    k = 30
    u = qutip_gaussian_train(kp, resonant_train(np.array(k), M), 2e-3)
    sigma = 2e-3 / FWHM_PER_SIGMA
    factor = np.exp(-0.5 * (kp.omega01 * sigma) ** 2)
    theta = 2 * np.arctan2(abs(u[1, 0]), abs(u[0, 0]))
    assert 1 - factor > 3e-4
    assert theta / (k * DTHETA) == pytest.approx(factor, abs=3e-5)


def test_kick_and_precess_matches_qutip_gaussian_pulses_in_gate_fidelity():
    """d = 3, the resonant pi/2 train and a random bitstream: 1 - F of the instantaneous-kick model and of QuTiP
    with 2 ps (FWHM) Gaussian pulses agree within 1e-4 (measured: ~3e-6)."""
    kp = _kp(3)
    rng = np.random.default_rng(11)
    bits = np.stack([resonant_train(np.array(53), M, 212), rng.random(212) < 0.25])
    u_kick = kp.gate(bits)
    u_qt = qutip_gaussian_train(kp, bits, 2e-3)
    for axis, theta in (("y", np.pi / 2),):
        f_kick = average_gate_fidelity(u_kick, "unitary", axis, theta)
        f_qt = average_gate_fidelity(u_qt, "unitary", axis, theta)
        np.testing.assert_array_less(np.abs(f_kick - f_qt), 1e-4)
    # whole operators agree too (leakage block included), to the size of the finite-width effect
    assert np.abs(u_kick - u_qt).max() < 2e-3
