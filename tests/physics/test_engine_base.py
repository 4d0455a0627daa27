"""Engine test base: EVERY engine of cryoctl.conventions.ENGINE_NAMES through the SAME physics checks.

``TestEveryEngine`` is parametrized over the registry (``engine`` fixture); ``dynamics`` is skipped when
qiskit-dynamics is not installed. Tolerances per engine (:data:`TOL`): the fast engine and qiskit-dynamics
(one exact matrix exponential per ZOH sample) are exact up to rounding; QuTiP integrates an ODE
(Verner 9 at atol = rtol = 1e-10, measured ~3e-10 on these checks), so its closed-form tolerance is 1e-8.

Checks: unitarity, 2-level resonant pulse = RX/RY(theta), the DESIGN.md reference pi pulse (fidelity and
leakage), T1 (and T2) idle = amplitude damping (+ dephasing) closed form, batching, agreement with the fast
engine (propagators and channels), and two coupled transmons: J = 0 factorises, resonant exchange
|01> -> cos(Jt)|01> - i sin(Jt)|10>. (|11>-|20> physics of the CZ is for a later issue.)

QuTiP runs are kept small (2-3 levels, <= 40 samples) so the directory stays fast.
"""

import numpy as np
import pytest
import scipy.linalg as sla

from cryoctl.conventions import ENGINE_NAMES, kron_conj
from cryoctl.physics import SystemModel, get_engine
from cryoctl.physics.fast import propagate as fast_propagate
from cryoctl.physics.lindblad import channel_fast

ALPHA_GHZ = -0.3
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)

# exact: closed forms; unitary: ||U'U - 1||; vs_fast_u / vs_fast_s: propagator / channel against the fast engine
TOL = {
    "fast": dict(exact=1e-12, unitary=1e-12, vs_fast_u=0.0, vs_fast_s=0.0),
    "qutip": dict(exact=1e-8, unitary=1e-8, vs_fast_u=1e-6, vs_fast_s=1e-7),
    "dynamics": dict(exact=1e-12, unitary=1e-12, vs_fast_u=1e-8, vs_fast_s=1e-10),
    "jax": dict(exact=1e-12, unitary=1e-12, vs_fast_u=1e-12, vs_fast_s=1e-12),
}
assert set(TOL) == set(ENGINE_NAMES)
OPTIONAL = {"dynamics": "qiskit_dynamics", "jax": "jax"}  # engine -> the extra's module (skipped when absent)


def lifted_gaussian(k=40, sigma=10.0, dt=1.0):
    t = (np.arange(k) + 0.5) * dt
    t0 = k * dt / 2
    g = np.exp(-((t - t0) ** 2) / (2 * sigma**2))
    edge = np.exp(-(t0**2) / (2 * sigma**2))
    return (g - edge) / (1 - edge), -(t - t0) / sigma**2 * g / (1 - edge)


def drag(area=np.pi, beta=0.5, k=40):
    env, denv = lifted_gaussian(k, sigma=k / 4)
    scale = area / env.sum()
    return {"xy_i": scale * env, "xy_q": -beta * scale * denv / (2 * np.pi * ALPHA_GHZ)}


def idle(model, k):
    """(model, signals) for an undriven idle of k samples (all-zero signals)."""
    return model, {model.channels[0]: np.zeros(k)}


def average_gate_fidelity(u_block, target):
    """Qubit-subspace average gate fidelity F = (Tr(M M') + |Tr M|^2) / 6, M = R' U[:2, :2]."""
    m = target.conj().T @ u_block
    return (np.trace(m @ m.conj().T).real + abs(np.trace(m)) ** 2) / 6


def amplitude_damping_and_dephasing(t_ns, t1_us, t2_us):
    """Row-major qubit idle channel: p1 -> p1 e^{-t/T1}, rho_01 -> rho_01 e^{-t/T2}."""
    gamma = 1 - np.exp(-t_ns / (t1_us * 1e3))
    coh = np.exp(-t_ns / (t2_us * 1e3))
    s = np.zeros((4, 4))
    s[0, 0], s[0, 3], s[3, 3] = 1.0, gamma, 1 - gamma
    s[1, 1] = s[2, 2] = coh
    return s


def qubit_block(s, levels):
    idx = np.array([i * levels + j for i in (0, 1) for j in (0, 1)])
    return s[..., idx[:, None], idx[None, :]]


def with_flux(model):
    """A single transmon plus a 'flux' channel with operator n (what coupled_transmons gives each qubit)."""
    n = np.diag(np.arange(model.dim, dtype=float))
    return SystemModel(model.dims, model.static, {**model.drives, "flux": n}, model.collapse)


@pytest.fixture(params=ENGINE_NAMES, scope="module")
def engine_name(request):
    if request.param in OPTIONAL:
        pytest.importorskip(OPTIONAL[request.param])
    return request.param


@pytest.fixture(scope="module")
def engine(engine_name):
    return get_engine(engine_name)


@pytest.fixture(scope="module")
def tol(engine_name):
    return TOL[engine_name]


class TestEveryEngine:
    """The same checks for every engine of the registry."""

    def test_registry_name(self, engine, engine_name):
        assert engine.name == engine_name

    def test_propagators_are_unitary(self, engine, tol):
        rng = np.random.default_rng(21)
        u = engine.propagate(
            SystemModel.transmon(3, ALPHA_GHZ, 0.01),
            {"xy_i": 0.4 * rng.standard_normal(12), "xy_q": 0.4 * rng.standard_normal(12)},
            0.7,
        )
        assert u.shape == (3, 3)
        assert np.abs(u.conj().T @ u - np.eye(3)).max() <= tol["unitary"]
        pair = SystemModel.coupled_transmons(2, (0.01, -0.02), (-0.3, -0.25), 0.01)
        u = engine.propagate(pair, {"flux0": 0.2 * rng.standard_normal(8), "xy_q1": 0.3 * rng.standard_normal(8)}, 1.0)
        assert u.shape == (4, 4)
        assert np.abs(u.conj().T @ u - np.eye(4)).max() <= tol["unitary"]

    @pytest.mark.parametrize("theta", [np.pi / 2, np.pi, -1.7])
    def test_two_level_resonant_pulse_is_exact_rotation(self, engine, tol, theta):
        """Area theta on xy_i gives RX(theta) = cos(theta/2) 1 - i sin(theta/2) X, on xy_q RY(theta),
        for any envelope (here a 12-sample lifted Gaussian at 3 ns)."""
        env, _ = lifted_gaussian(12, 3.0)
        omega = theta * env / (env.sum() * 3.0)
        rx = np.cos(theta / 2) * np.eye(2) - 1j * np.sin(theta / 2) * X
        ry = np.cos(theta / 2) * np.eye(2) - 1j * np.sin(theta / 2) * Y
        model = SystemModel.transmon(2, ALPHA_GHZ)
        assert np.abs(engine.propagate(model, {"xy_i": omega}, 3.0) - rx).max() <= tol["exact"]
        assert np.abs(engine.propagate(model, {"xy_q": omega}, 3.0) - ry).max() <= tol["exact"]

    def test_design_reference_gaussian_pi_pulse(self, engine):
        """DESIGN.md: alpha = -2pi 0.3 GHz, 40 ns lifted Gaussian, sigma 10 ns, 1 GS/s, area pi, 3 levels,
        no DRAG: qubit-subspace average gate fidelity ~0.99925 against RX(pi), leakage ~4e-7."""
        env, _ = lifted_gaussian()
        u = engine.propagate(SystemModel.transmon(3, ALPHA_GHZ), {"xy_i": np.pi * env / env.sum()}, 1.0)
        rx_pi = -1j * X
        assert average_gate_fidelity(u[:2, :2], rx_pi) == pytest.approx(0.99925, abs=1e-5)
        assert abs(u[2, 0]) ** 2 == pytest.approx(4e-7, rel=0.05)

    @pytest.mark.parametrize("t1_us,t2_us", [(0.3, None), (0.3, 0.2)])
    def test_idle_channel_is_amplitude_damping(self, engine, tol, t1_us, t2_us):
        """T1 (and T2) idle of 200 ns (4 samples of 50 ns), 3 levels: qubit block = closed form,
        rho_22 decays at 2/T1, trace preserved."""
        t_ns, levels = 200.0, 3
        model = SystemModel.transmon(levels, ALPHA_GHZ, t1_us=t1_us, t2_us=t2_us)
        s = engine.channel(*idle(model, 4), 50.0)
        assert s.shape == (9, 9)
        expected = amplitude_damping_and_dephasing(t_ns, t1_us, 2 * t1_us if t2_us is None else t2_us)
        assert np.abs(qubit_block(s, levels) - expected).max() <= tol["exact"]
        assert s[8, 8].real == pytest.approx(np.exp(-2 * t_ns / (t1_us * 1e3)), abs=tol["exact"])
        diag_rows = s[np.arange(levels) * (levels + 1), :].sum(axis=0)
        assert np.abs(diag_rows - np.eye(levels).reshape(-1)).max() <= tol["exact"]

    def test_zero_signals_are_free_evolution(self, request, engine, engine_name, tol):
        """No drive at all ({'xy_i': zeros}): U = exp(-i H_static t), and the closed channel is kron(U, U*)."""
        model = SystemModel.transmon(3, ALPHA_GHZ, 0.01)
        u = engine.propagate(model, {"xy_i": np.zeros(5)}, 2.0)
        expected = np.diag(np.exp(-10j * np.diag(model.static)))
        assert np.abs(u - expected).max() <= tol["exact"]
        assert np.abs(engine.channel(model, {"xy_i": np.zeros(5)}, 2.0) - kron_conj(expected)).max() <= tol["exact"]

    def test_batching_equals_separate_solves(self, engine):
        """A (2, K) signal is two waveforms: row b of the batch equals the solve of row b alone
        (propagator and open channel; a (K,) signal on another channel broadcasts)."""
        sig = drag(k=12)
        batch = {"xy_i": np.stack([sig["xy_i"], 0.5 * sig["xy_i"]]), "xy_q": sig["xy_q"]}
        model = SystemModel.transmon(3, ALPHA_GHZ, 0.002, t1_us=0.5, t2_us=0.4)
        u = engine.propagate(model, batch, 1.0)
        s = engine.channel(model, batch, 1.0)
        assert u.shape == (2, 3, 3) and s.shape == (2, 9, 9)
        for b in range(2):
            row = {"xy_i": batch["xy_i"][b], "xy_q": sig["xy_q"]}
            assert np.abs(u[b] - engine.propagate(model, row, 1.0)).max() <= 1e-12
            assert np.abs(s[b] - engine.channel(model, row, 1.0)).max() <= 1e-12
        assert np.abs(u[0] - u[1]).max() > 0.1  # the rows really differ

    def test_agrees_with_fast_engine(self, engine, tol):
        """Detuned DRAG pi pulse on 3 levels: propagator, closed and open channel against the fast
        implementations (fast.propagate, lindblad.channel_fast)."""
        sig = drag(k=40)
        model = SystemModel.transmon(3, ALPHA_GHZ, 0.002, t1_us=0.5, t2_us=0.4)
        u = engine.propagate(model, sig, 1.0)
        u_fast = fast_propagate(model.closed(), sig, 1.0)
        assert abs(u_fast[1, 0]) ** 2 > 0.9  # a real pi pulse: the comparison is not trivial
        assert np.abs(u - u_fast).max() <= tol["vs_fast_u"]
        s = engine.channel(model, sig, 1.0)
        s_fast = channel_fast(model, sig, 1.0)
        assert np.abs(s - s_fast).max() <= tol["vs_fast_s"]
        assert np.abs(s_fast - kron_conj(u_fast)).max() > 1e-2  # dissipation is visible
        s_closed = engine.channel(model.closed(), sig, 1.0)
        assert np.abs(s_closed - kron_conj(u_fast)).max() <= max(tol["vs_fast_s"], 1e-14)

    @pytest.mark.parametrize("levels", [2, 3])
    def test_uncoupled_pair_is_kron_of_single_transmons(self, engine, tol, levels):
        """J = 0: the pair propagator is kron(U_0, U_1) (qubit 0 the left factor), with flux and I/Q drives
        on both qubits, each single transmon given its own detuning and anharmonicity."""
        rng = np.random.default_rng(22)
        k = 10
        det, anh = (0.01, -0.02), (-0.3, -0.22)
        pair = SystemModel.coupled_transmons(levels, det, anh, 0.0)
        sig = {
            "flux0": 0.2 * rng.standard_normal(k), "xy_i0": 0.3 * rng.standard_normal(k),
            "xy_q0": 0.3 * rng.standard_normal(k), "xy_i1": 0.3 * rng.standard_normal(k),
            "xy_q1": 0.3 * rng.standard_normal(k), "flux1": 0.2 * rng.standard_normal(k),
        }
        singles = []
        for q in range(2):
            single = with_flux(SystemModel.transmon(levels, anh[q], det[q]))
            singles.append(engine.propagate(single, {c: sig[f"{c}{q}"] for c in ("flux", "xy_i", "xy_q")}, 1.0))
        u = engine.propagate(pair, sig, 1.0)
        assert np.abs(u - np.kron(*singles)).max() <= 3 * tol["exact"]
        assert np.abs(u - np.kron(singles[1], singles[0])).max() > 1e-2  # the factor order is tested

    def test_resonant_exchange(self, engine, tol):
        """Two 2-level qubits at equal frequency, coupling J = 2 pi g, no drive, time t:
        H = J (|01><10| + |10><01|), so |01> -> cos(Jt)|01> - i sin(Jt)|10>, |00>, |11> unchanged."""
        g_ghz, k, dt = 0.005, 8, 4.0
        pair = SystemModel.coupled_transmons(2, (0.0, 0.0), (ALPHA_GHZ, ALPHA_GHZ), g_ghz)
        u = engine.propagate(*idle(pair, k), dt)
        jt = 2 * np.pi * g_ghz * k * dt  # ~1.0 rad: neither a full swap nor identity
        c, s = np.cos(jt), np.sin(jt)
        expected = np.array([[1, 0, 0, 0], [0, c, -1j * s, 0], [0, -1j * s, c, 0], [0, 0, 0, 1]])
        assert np.abs(u - expected).max() <= tol["exact"]
        ket01 = np.array([0, 1, 0, 0])
        assert np.abs(u @ ket01 - (c * ket01 - 1j * s * np.array([0, 0, 1, 0]))).max() <= tol["exact"]
        assert np.abs(u - sla.expm(-1j * pair.static * k * dt)).max() <= tol["exact"]
