"""Fast (numpy) engine: exactness of ZOH propagators against closed forms and scipy.linalg.expm.

The physics is given as a :class:`SystemModel` plus channel signals; the reference Hamiltonians here are
built directly from the model's operators (H_k = static + sum_c s_c,k O_c), independently of the engine.
"""

import numpy as np
import pytest
import scipy.linalg as sla

from cryoctl.physics.fast import propagate, sample_propagators, time_ordered_product, unique_samples
from cryoctl.physics.lindblad import expm_batched
from cryoctl.physics.model import SystemModel

X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)


def lifted_gaussian(k=40, sigma=10.0, dt=1.0):
    t = (np.arange(k) + 0.5) * dt
    t0 = k * dt / 2
    g = np.exp(-((t - t0) ** 2) / (2 * sigma**2))
    edge = np.exp(-(t0**2) / (2 * sigma**2))
    return (g - edge) / (1 - edge)


def random_drive(rng, shape, scale=0.3):
    return scale * rng.standard_normal(shape)


def iq(wi, wq=None):
    """The old (omega_i, omega_q) Rabi rates as transmon channel signals."""
    return {"xy_i": wi} if wq is None else {"xy_i": wi, "xy_q": wq}


def model_hamiltonians(model, signals):
    """H per sample (..., K, D, D) = static + sum_c s_c O_c, straight from the model's operators."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in signals.values()))
    h = np.asarray(model.static, dtype=complex)
    for name, s in zip(signals, arrays):
        h = h + s[..., None, None] * model.drives[name]
    return h


def sequential_expm(model, signals, dt):
    """U = expm(-i H_K dt) ... expm(-i H_1 dt) by a plain loop, one waveform (signals (K,))."""
    h = model_hamiltonians(model, signals)
    ref = np.eye(model.dim, dtype=complex)
    for hk in h:  # later samples multiply from the left
        ref = sla.expm(-1j * dt * hk) @ ref
    return ref


def generic_copy(model):
    """The same physics with channel names that disable the I/Q transmon fast path."""
    return SystemModel(
        dims=model.dims, static=model.static, drives={"i": model.drives["xy_i"], "q": model.drives["xy_q"]}
    )


@pytest.mark.parametrize("levels", [2, 3, 4])
@pytest.mark.parametrize("with_q", [False, True])
def test_propagators_are_unitary(levels, with_q):
    rng = np.random.default_rng(1)
    wi = random_drive(rng, (7, 5, 33))
    wq = random_drive(rng, (7, 5, 33)) if with_q else None
    model = SystemModel.transmon(levels, -0.25, 0.01)
    assert model.iq_transmon
    u = propagate(model, iq(wi, wq), 0.5)
    assert u.shape == (7, 5, levels, levels)
    eye = np.eye(levels)
    err = np.abs(np.conj(np.swapaxes(u, -1, -2)) @ u - eye).max()
    assert err <= 1e-12


@pytest.mark.parametrize("levels", [2, 3, 4])
@pytest.mark.parametrize("with_q", [False, True])
def test_propagate_matches_sequential_expm_product(levels, with_q):
    rng = np.random.default_rng(2)
    k = 23
    wi = random_drive(rng, (3, k), scale=0.5)
    wq = random_drive(rng, (3, k), scale=0.5) if with_q else None
    dt, alpha, delta = 0.83, -0.3, 0.02
    model = SystemModel.transmon(levels, alpha, delta)
    u = propagate(model, iq(wi, wq), dt)
    for b in range(3):
        ref = sequential_expm(model, iq(wi[b], None if wq is None else wq[b]), dt)
        assert np.abs(u[b] - ref).max() <= 1e-12


def test_q_only_drive_matches_sequential_expm_product():
    """Only the Q channel given: the I/Q frame change with Omega_I = 0 (phase pi/2 everywhere)."""
    rng = np.random.default_rng(12)
    wq = random_drive(rng, (19,), scale=0.5)
    model = SystemModel.transmon(3, -0.3, 0.01)
    u = propagate(model, {"xy_q": wq}, 0.9)
    assert np.abs(u - sequential_expm(model, {"xy_q": wq}, 0.9)).max() <= 1e-12


@pytest.mark.parametrize("levels", [2, 3])
def test_iq_fast_path_equals_generic_path(levels):
    """The diagonal I/Q frame change (model.iq_transmon) gives the generic eigendecomposition's U."""
    rng = np.random.default_rng(10)
    wi, wq = random_drive(rng, (4, 17), 0.6), random_drive(rng, (4, 17), 0.6)
    model = SystemModel.transmon(levels, -0.3, 0.005)
    other = generic_copy(model)
    assert model.iq_transmon and not other.iq_transmon
    u_iq = propagate(model, iq(wi, wq), 1.0)
    u_gen = propagate(other, {"i": wi, "q": wq}, 1.0)
    assert np.abs(u_iq - u_gen).max() <= 1e-12


def test_generic_path_on_coupled_transmons_matches_sequential_expm():
    """Generic path (complex drives, flux channels, exchange) against a loop of scipy expm."""
    rng = np.random.default_rng(11)
    k = 15
    model = SystemModel.coupled_transmons(3, (0.01, -0.02), (-0.3, -0.25), 0.008)
    assert not model.iq_transmon
    signals = {
        "flux0": random_drive(rng, (2, k), 0.2),
        "xy_i0": random_drive(rng, (2, k), 0.3),
        "xy_q1": random_drive(rng, (2, k), 0.3),
        "xy_i1": random_drive(rng, (k,), 0.3),  # broadcasts against the batch
    }
    u = propagate(model, signals, 0.7)
    assert u.shape == (2, 9, 9)
    for b in range(2):
        one = {c: (v[b] if np.ndim(v) == 2 else v) for c, v in signals.items()}
        assert np.abs(u[b] - sequential_expm(model, one, 0.7)).max() <= 1e-12


def test_zero_signal_is_free_evolution():
    """All-zero signals: exp(-i H_static t), diagonal phases for the transmon drift."""
    model = SystemModel.transmon(3, -0.3, 0.01)
    u = propagate(model, {"xy_i": np.zeros(7)}, 1.5)
    assert np.abs(u - np.diag(np.exp(-1j * 10.5 * np.diag(model.static)))).max() <= 1e-12


@pytest.mark.parametrize("theta", [0.3, np.pi / 2, np.pi, 2.9, -1.7])
def test_two_level_resonant_pulse_is_exact_rotation(theta):
    """Area theta on I gives RX(theta) = exp(-i theta X/2), on Q gives RY(theta), for any envelope."""
    env = lifted_gaussian()
    omega = theta * env / env.sum()  # dt = 1 ns: area = sum(omega) dt = theta
    rx = sla.expm(-0.5j * theta * X)
    ry = sla.expm(-0.5j * theta * Y)
    model = SystemModel.transmon(2, -0.3)
    assert np.abs(propagate(model, {"xy_i": omega}, 1.0) - rx).max() <= 1e-12
    assert np.abs(propagate(model, {"xy_i": np.zeros_like(omega), "xy_q": omega}, 1.0) - ry).max() <= 1e-12
    # closed form written out: cos(theta/2) 1 - i sin(theta/2) X
    assert np.abs(rx - (np.cos(theta / 2) * np.eye(2) - 1j * np.sin(theta / 2) * X)).max() <= 1e-14


def test_design_reference_gaussian_pi_pulse():
    """DESIGN.md figure: alpha = -2pi 0.3 GHz, 40 ns lifted Gaussian, sigma 10 ns, 1 GS/s, no DRAG:
    average X fidelity on the qubit block ~0.99925 and leakage ~4e-7."""
    env = lifted_gaussian()
    u = propagate(SystemModel.transmon(3, -0.3), {"xy_i": np.pi * env / env.sum()}, 1.0)
    block = u[:2, :2]
    fid = (abs(np.trace(X.conj().T @ block)) ** 2 + np.trace(block.conj().T @ block).real) / 6
    leakage = abs(u[2, 0]) ** 2
    assert fid == pytest.approx(0.99925, abs=1e-5)
    assert leakage == pytest.approx(4e-7, rel=0.05)


def test_dedup_of_identical_samples_is_bit_identical():
    """Diagonalising each distinct sample once gives exactly what diagonalising every sample gives."""
    env = lifted_gaussian()
    codes = np.arange(-64, 64)
    omega = codes[:, None] * (1.1 * np.pi / 63 / env.sum()) * env
    model = SystemModel.transmon(3, -0.3)
    u = propagate(model, {"xy_i": omega}, 1.0)
    h_all = np.real(model_hamiltonians(model, {"xy_i": omega}))  # I only: real symmetric, as the engine
    u_all = time_ordered_product(sample_propagators(h_all, 1.0))
    assert np.array_equal(u, u_all)
    (vals, _), inverse = unique_samples(omega, None)
    assert np.array_equal(vals[inverse], omega)
    assert vals.size < omega.size / 2 + codes.size  # symmetric envelope: every value about twice


def test_unique_samples_pairs_i_and_q():
    wi = np.array([[0.1, 0.2, 0.1], [0.2, 0.1, 0.1]])
    wq = np.array([[0.0, 0.3, 0.0], [0.3, 0.1, 0.0]])
    (ui, uq), inv = unique_samples(wi, wq)
    assert np.array_equal(ui[inv], wi) and np.array_equal(uq[inv], wq)
    assert ui.size == 3  # (0.1, 0), (0.2, 0.3), (0.1, 0.1)


def test_broadcasting_and_determinism():
    rng = np.random.default_rng(3)
    wi = random_drive(rng, (4, 12))
    wq = random_drive(rng, (12,))
    model = SystemModel.transmon(3, -0.3)
    u1 = propagate(model, iq(wi, wq), 1.0)
    u2 = propagate(model, iq(wi, np.broadcast_to(wq, wi.shape).copy()), 1.0)
    assert np.array_equal(u1, u2)
    assert np.array_equal(u1, propagate(model, iq(wi, wq), 1.0))
    # a single row equals its slice of the batch
    assert np.abs(propagate(model, iq(wi[2], wq), 1.0) - u1[2]).max() <= 1e-14


def test_batch_shape_carried_by_a_zero_channel_is_kept():
    wi = 0.1 * np.ones(5)
    model = SystemModel.transmon(2, -0.3)
    u = propagate(model, {"xy_i": wi, "xy_q": np.zeros((2, 5))}, 1.0)
    assert u.shape == (2, 2, 2)


def test_time_ordered_product_order():
    """Sample 1 acts first: non-commuting factors in a fixed order, odd K exercises the carry."""
    rng = np.random.default_rng(4)
    mats = rng.standard_normal((5, 3, 3)) + 1j * rng.standard_normal((5, 3, 3))
    expected = mats[4] @ mats[3] @ mats[2] @ mats[1] @ mats[0]
    assert np.allclose(time_ordered_product(mats), expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("scale", [1e-3, 0.7, 5.0, 60.0])
def test_expm_batched_matches_scipy(scale):
    rng = np.random.default_rng(5)
    a = scale * (rng.standard_normal((6, 9, 9)) + 1j * rng.standard_normal((6, 9, 9))) / 3
    a = a - 0.5 * scale * np.eye(9)  # dissipative-like, non-normal
    ours = expm_batched(a)
    for m in range(6):
        ref = sla.expm(a[m])
        assert np.abs(ours[m] - ref).max() <= 1e-12 * max(1.0, np.abs(ref).max())
