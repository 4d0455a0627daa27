"""Fast (numpy) engine: exactness of ZOH propagators against closed forms and scipy.linalg.expm."""

import numpy as np
import pytest
import scipy.linalg as sla

from cryoctl.physics.fast import propagate, sample_propagators, time_ordered_product, unique_samples
from cryoctl.physics.hamiltonian import hamiltonians
from cryoctl.physics.lindblad import expm_batched

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


@pytest.mark.parametrize("levels", [2, 3, 4])
@pytest.mark.parametrize("with_q", [False, True])
def test_propagators_are_unitary(levels, with_q):
    rng = np.random.default_rng(1)
    wi = random_drive(rng, (7, 5, 33))
    wq = random_drive(rng, (7, 5, 33)) if with_q else None
    u = propagate(wi, wq, 0.5, levels, -0.25, 0.01)
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
    u = propagate(wi, wq, dt, levels, alpha, delta)
    h = hamiltonians(wi, wq, levels, alpha, delta)
    for b in range(3):
        ref = np.eye(levels, dtype=complex)
        for j in range(k):  # later samples multiply from the left
            ref = sla.expm(-1j * dt * h[b, j]) @ ref
        assert np.abs(u[b] - ref).max() <= 1e-12


@pytest.mark.parametrize("theta", [0.3, np.pi / 2, np.pi, 2.9, -1.7])
def test_two_level_resonant_pulse_is_exact_rotation(theta):
    """Area theta on I gives RX(theta) = exp(-i theta X/2), on Q gives RY(theta), for any envelope."""
    env = lifted_gaussian()
    omega = theta * env / env.sum()  # dt = 1 ns: area = sum(omega) dt = theta
    rx = sla.expm(-0.5j * theta * X)
    ry = sla.expm(-0.5j * theta * Y)
    assert np.abs(propagate(omega, None, 1.0, 2, -0.3) - rx).max() <= 1e-12
    assert np.abs(propagate(np.zeros_like(omega), omega, 1.0, 2, -0.3) - ry).max() <= 1e-12
    # closed form written out: cos(theta/2) 1 - i sin(theta/2) X
    assert np.abs(rx - (np.cos(theta / 2) * np.eye(2) - 1j * np.sin(theta / 2) * X)).max() <= 1e-14


def test_design_reference_gaussian_pi_pulse():
    """DESIGN.md figure: alpha = -2pi 0.3 GHz, 40 ns lifted Gaussian, sigma 10 ns, 1 GS/s, no DRAG:
    average X fidelity on the qubit block ~0.99925 and leakage ~4e-7."""
    env = lifted_gaussian()
    u = propagate(np.pi * env / env.sum(), None, 1.0, 3, -0.3)
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
    u = propagate(omega, None, 1.0, 3, -0.3)
    u_all = time_ordered_product(sample_propagators(hamiltonians(omega, None, 3, -0.3), 1.0))
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
    u1 = propagate(wi, wq, 1.0, 3, -0.3)
    u2 = propagate(wi, np.broadcast_to(wq, wi.shape).copy(), 1.0, 3, -0.3)
    assert np.array_equal(u1, u2)
    assert np.array_equal(u1, propagate(wi, wq, 1.0, 3, -0.3))
    # a single row equals its slice of the batch
    assert np.abs(propagate(wi[2], wq, 1.0, 3, -0.3) - u1[2]).max() <= 1e-14


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
