"""Channels with T1/T2: closed forms for idles, CPTP checks, and fast vs qutip / qiskit-dynamics."""

import numpy as np
import pytest

from cryoctl.conventions import kron_conj
from cryoctl.physics import SystemModel, get_engine
from cryoctl.physics.lindblad import channel_fast, collapse_operators, column_to_row_superop, dephasing_rate

ALPHA_GHZ = -0.3
fast = get_engine("fast")


def transmon(levels, detuning_ghz=0.0, **coherence):
    return SystemModel.transmon(levels, ALPHA_GHZ, detuning_ghz, **coherence)


def iq(wi, wq=None):
    """The old (omega_i, omega_q) Rabi rates as transmon channel signals."""
    return {"xy_i": wi} if wq is None else {"xy_i": wi, "xy_q": wq}


def idle(model, k):
    """(model, signals) for an undriven idle of k samples (all-zero signals)."""
    return model, {model.channels[0]: np.zeros(k)}


def idle_channel(t_ns, levels, **coherence):
    return fast.channel(*idle(transmon(levels, **coherence), t_ns), 1.0)


def qubit_block(s, levels):
    """Restrict a row-major d-level superoperator to rho_ij, i, j in {0, 1}."""
    idx = np.array([i * levels + j for i in (0, 1) for j in (0, 1)])
    return s[..., idx[:, None], idx[None, :]]


def apply(s, rho):
    d = rho.shape[-1]
    return (s @ rho.reshape(-1)).reshape(d, d)


def closed_form_idle(t_ns, t1_us, t2_us):
    """Qubit idle channel (row-major): p1 -> p1 e^{-t/T1}, rho_01 -> rho_01 e^{-t/T2}."""
    gamma = 1 - np.exp(-t_ns / (t1_us * 1e3))
    coh = np.exp(-t_ns / (t2_us * 1e3))
    s = np.zeros((4, 4))
    s[0, 0], s[0, 3] = 1.0, gamma  # rho_00' = rho_00 + gamma rho_11
    s[3, 3] = 1 - gamma  # rho_11' = (1 - gamma) rho_11
    s[1, 1] = s[2, 2] = coh  # rho_01', rho_10'
    return s


@pytest.mark.parametrize("levels", [2, 3])
@pytest.mark.parametrize("t_ns,t1_us", [(50, 0.3), (200, 0.3), (400, 20.0)])
def test_t1_idle_matches_amplitude_damping(levels, t_ns, t1_us):
    """T1 only: populations p1 e^{-t/T1}, coherence e^{-t/(2 T1)} (T2 = 2 T1)."""
    s = idle_channel(t_ns, levels, t1_us=t1_us)
    expected = closed_form_idle(t_ns, t1_us, 2 * t1_us)
    assert np.abs(qubit_block(s, levels) - expected).max() <= 1e-12


def test_t1_idle_average_gate_fidelity_closed_form():
    """Average gate fidelity of the T1 idle vs identity on the qubit block.

    Amplitude damping, gamma = 1 - e^{-t/T1}: Kraus K0 = diag(1, sqrt(1-gamma)), K1 = sqrt(gamma)|0><1|.
    F_e = sum_k |Tr K_k|^2 / d^2 = (1 + sqrt(1-gamma))^2 / 4 and F_avg = (d F_e + 1)/(d + 1), d = 2:

        F_avg = (4 - gamma + 2 sqrt(1-gamma)) / 6 = (3 + e^{-t/T1} + 2 e^{-t/(2 T1)}) / 6,

    which is 1 at t = 0 (so not (3 + 2 sqrt(1-gamma) - gamma)/6, which would give 5/6). Checked three
    ways: the closed form, Tr(S)/d^2 of the superoperator (row-major S = sum_k K_k (x) K_k*, so
    Tr S = sum_k |Tr K_k|^2), and the mean fidelity over the six Pauli eigenstates (a 2-design).
    """
    t1_us, levels = 0.25, 3
    for t_ns in (20, 120, 500):
        s = qubit_block(idle_channel(t_ns, levels, t1_us=t1_us), levels)
        gamma = 1 - np.exp(-t_ns / (t1_us * 1e3))
        closed = (3 + np.exp(-t_ns / (t1_us * 1e3)) + 2 * np.exp(-t_ns / (2 * t1_us * 1e3))) / 6
        assert closed == pytest.approx((4 - gamma + 2 * np.sqrt(1 - gamma)) / 6, abs=1e-15)
        f_entangle = np.trace(s).real / 4
        assert (2 * f_entangle + 1) / 3 == pytest.approx(closed, abs=1e-12)
        states = [np.array(v, dtype=complex) / np.linalg.norm(v) for v in
                  ([1, 0], [0, 1], [1, 1], [1, -1], [1, 1j], [1, -1j])]
        f_design = np.mean([np.vdot(v, apply(s, np.outer(v, v.conj())) @ v).real for v in states])
        assert f_design == pytest.approx(closed, abs=1e-12)
    assert closed < 0.9  # the last idle decays visibly: the comparison can fail


@pytest.mark.parametrize("t1_us", [None, 0.4])
def test_t2_dephasing_decays_coherence_at_t2(t1_us):
    t2_us, t_ns, levels = 0.15, 90, 3
    s = idle_channel(t_ns, levels, t1_us=t1_us, t2_us=t2_us)
    block = qubit_block(s, levels)
    assert abs(block[1, 1]) == pytest.approx(np.exp(-t_ns / (t2_us * 1e3)), abs=1e-12)
    if t1_us is None:
        assert block[3, 3].real == pytest.approx(1.0, abs=1e-12)  # pure dephasing keeps populations
    else:
        assert np.abs(block - closed_form_idle(t_ns, t1_us, t2_us)).max() <= 1e-12
        # level 2: rho_22 decays at 2/T1; rho_02 at 2/(2 T1) + 2^2/T_phi (c_phi ~ n gives (k-l)^2)
        p2 = s[8, 8].real
        assert p2 == pytest.approx(np.exp(-2 * t_ns / (t1_us * 1e3)), abs=1e-12)
        rate_02 = 1 / (t1_us * 1e3) + 4 * dephasing_rate(t1_us, t2_us)
        assert abs(s[2, 2]) == pytest.approx(np.exp(-rate_02 * t_ns), abs=1e-12)


def test_collapse_operator_convention():
    """sqrt(1/T1) a and sqrt(2/T_phi) a'a with 1/T_phi = 1/T2 - 1/(2 T1), rates in 1/ns."""
    ops = collapse_operators(3, t1_us=2.0, t2_us=3.0)
    assert len(ops) == 2
    assert ops[0][0, 1] == pytest.approx(np.sqrt(1 / 2000))
    assert ops[1][1, 1] ** 2 == pytest.approx(2 * (1 / 3000 - 1 / 4000))
    assert collapse_operators(3, t1_us=2.0, t2_us=4.0)[1:] == []  # T2 = 2 T1: no pure dephasing
    assert collapse_operators(3) == []


def drag(levels_area=np.pi, beta=0.5, k=40, sigma=10.0):
    t = np.arange(k) + 0.5
    g = np.exp(-((t - k / 2) ** 2) / (2 * sigma**2))
    edge = np.exp(-((k / 2) ** 2) / (2 * sigma**2))
    env, denv = (g - edge) / (1 - edge), -(t - k / 2) / sigma**2 * g / (1 - edge)
    scale = levels_area / env.sum()
    return scale * env, -beta * scale * denv / (2 * np.pi * ALPHA_GHZ)


@pytest.mark.parametrize("levels", [2, 3])
def test_driven_channel_fast_vs_qutip_mesolve(levels):
    """DRAG pi pulse with T1 = 0.5 us, T2 = 0.4 us (strong, so dissipation is visible in S).

    Tolerance 1e-7: the fast channel is exact up to rounding (~1e-14, see the qiskit-dynamics test);
    qutip's Verner-9 at atol = rtol = 1e-10 accumulates ~1e-9 over 40 segments (measured 5e-10 to
    1.3e-9 for d = 2..4), so 1e-7 leaves a 100x margin while the dissipative part is ~1e-1.
    """
    wi, wq = drag()
    kw = dict(t1_us=0.5, t2_us=0.4)
    model = transmon(levels, 0.001, **kw)
    s_fast = fast.channel(model, iq(wi, wq), 1.0)
    s_qutip = get_engine("qutip").channel(model, iq(wi, wq), 1.0)
    assert np.abs(s_fast - s_qutip).max() <= 1e-7
    s_closed = fast.channel(model.closed(), iq(wi, wq), 1.0)
    assert np.abs(s_fast - s_closed).max() > 1e-2


def test_driven_channel_fast_vs_qiskit_dynamics():
    pytest.importorskip("qiskit_dynamics")
    wi, wq = drag()
    kw = dict(t1_us=0.5, t2_us=0.4)
    model = transmon(3, -0.002, **kw)
    s_fast = fast.channel(model, iq(np.stack([wi, 0.5 * wi]), wq), 1.0)
    s_dyn = get_engine("dynamics").channel(model, iq(np.stack([wi, 0.5 * wi]), wq), 1.0)
    assert s_fast.shape == (2, 9, 9)
    assert np.abs(s_fast - s_dyn).max() <= 1e-10


@pytest.mark.parametrize("levels", [2, 3, 4])
def test_channels_are_cptp_and_reduce_to_unitaries(levels):
    rng = np.random.default_rng(7)
    wi = 0.3 * rng.standard_normal((3, 25))
    wq = 0.3 * rng.standard_normal((3, 25))
    model = transmon(levels, 0.003, t1_us=0.2, t2_us=0.1)
    s = fast.channel(model, iq(wi, wq), 1.0)
    d = levels
    # trace preservation: sum_i S[(i,i), :] = vec(1)
    diag_rows = s[:, np.arange(d) * (d + 1), :].sum(axis=1)
    assert np.abs(diag_rows - np.eye(d).reshape(-1)).max() <= 1e-12
    # complete positivity: the Choi matrix C[(i,k),(j,l)] = S[(i,j),(k,l)] is PSD
    choi = s.reshape(3, d, d, d, d).transpose(0, 1, 3, 2, 4).reshape(3, d * d, d * d)
    assert np.abs(choi - np.conj(np.swapaxes(choi, -1, -2))).max() <= 1e-12
    assert np.linalg.eigvalsh(choi).min() >= -1e-12
    # without T1/T2 the channel is kron(U, U*)
    u = fast.propagate(model, iq(wi, wq), 1.0)  # propagate ignores the collapse operators
    assert np.abs(u - fast.propagate(model.closed(), iq(wi, wq), 1.0)).max() == 0.0
    assert np.abs(fast.channel(model.closed(), iq(wi, wq), 1.0) - kron_conj(u)).max() <= 1e-14
    # and with very long T1/T2 it tends to it (the dissipative path is the same model)
    s_long = fast.channel(transmon(levels, 0.003, t1_us=1e9, t2_us=1e9), iq(wi, wq), 1.0)
    assert np.abs(s_long - kron_conj(u)).max() <= 1e-9


def test_column_to_row_superop():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    rho = rng.standard_normal((3, 3))
    # column stacking: vec_F(A rho B) = kron(B^T, A) vec_F(rho)
    s_col = np.kron(b.T, a)
    assert np.allclose(apply(column_to_row_superop(s_col), rho), a @ rho @ b, atol=1e-13)


def test_hermitian_basis_makes_lindblad_generators_real():
    from cryoctl.physics.hamiltonian import drift, drive_operators
    from cryoctl.physics.lindblad import dissipator_superop, hamiltonian_superop, hermitian_basis

    for d in (2, 3, 4):
        b = hermitian_basis(d)
        assert np.abs(b.conj().T @ b - np.eye(d * d)).max() <= 1e-15
        x, y = drive_operators(d)
        l_op = (
            hamiltonian_superop(drift(d, ALPHA_GHZ, 0.01) + 0.3 * x - 0.2 * y)
            + dissipator_superop(collapse_operators(d, 0.5, 0.4), d)
        )
        r = b.conj().T @ l_op @ b
        assert np.abs(r.imag).max() <= 1e-15 * np.abs(r).max()
        assert np.abs(r.real).max() > 0.1


def test_channel_chunking_does_not_change_results(monkeypatch):
    import cryoctl.physics.lindblad as lb

    rng = np.random.default_rng(9)
    wi = 0.2 * rng.standard_normal((2, 5, 16))
    model = transmon(3, t1_us=1.0, t2_us=0.7)
    whole = fast.channel(model, {"xy_i": wi}, 1.0)
    monkeypatch.setattr(lb, "_CHUNK_ELEMENTS", 3 * 16 * 81)  # 3 waveforms per chunk -> 4 chunks
    chunked = fast.channel(model, {"xy_i": wi}, 1.0)
    assert chunked.shape == (2, 5, 9, 9)
    assert np.abs(chunked - whole).max() <= 1e-14


def test_kron_conj_is_the_kron_conjerator():
    """Row-major: vec(U rho U') = kron(U, U*) vec(rho), batched over leading axes."""
    rng = np.random.default_rng(13)
    u = np.linalg.qr(rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3)))[0]
    rho = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    s = kron_conj(u)
    assert s.shape == (2, 9, 9)
    for b in range(2):
        assert np.abs(s[b] - np.kron(u[b], u[b].conj())).max() == 0.0
        assert np.allclose(apply(s[b], rho), u[b] @ rho @ u[b].conj().T, atol=1e-14)


def test_channel_fast_matches_the_engine_and_uses_the_model_collapse():
    """engines' fast channel is lindblad.channel_fast; the model's collapse operators are the dissipators."""
    rng = np.random.default_rng(14)
    wi, wq = 0.3 * rng.standard_normal((2, 12)), 0.3 * rng.standard_normal(12)
    model = transmon(3, 0.002, t1_us=0.3, t2_us=0.2)
    assert len(model.collapse) == 2
    for ours, ref in zip(model.collapse, collapse_operators(3, 0.3, 0.2)):
        assert np.array_equal(ours, ref)
    s = channel_fast(model, iq(wi, wq), 1.0)
    assert np.array_equal(s, fast.channel(model, iq(wi, wq), 1.0))
    assert np.abs(s - kron_conj(fast.propagate(model, iq(wi, wq), 1.0))).max() > 1e-3


def test_coupled_idle_without_exchange_is_the_product_of_single_channels():
    """J = 0, T1/T2 on both qubits: the pair idle channel is the tensor product of the single idles
    (row-major pair index ((i0 d + i1) D + (j0 d + j1)) -> reshuffle of kron(S0, S1))."""
    d, t_ns = 2, 60
    pair = SystemModel.coupled_transmons(d, (0.01, -0.02), (-0.3, -0.25), 0.0, t1_us=(0.3, 0.5), t2_us=(0.2, 0.6))
    s_pair = fast.channel(*idle(pair, t_ns), 1.0)
    s0 = fast.channel(*idle(SystemModel.transmon(d, -0.3, 0.01, t1_us=0.3, t2_us=0.2), t_ns), 1.0)
    s1 = fast.channel(*idle(SystemModel.transmon(d, -0.25, -0.02, t1_us=0.5, t2_us=0.6), t_ns), 1.0)
    # kron(S0, S1) indexes ((i0 d + j0) d^2 + (i1 d + j1)); permute to the pair's row-major vec
    prod = np.kron(s0, s1).reshape([d] * 8)  # i0 j0 i1 j1 | k0 l0 k1 l1
    prod = prod.transpose(0, 2, 1, 3, 4, 6, 5, 7).reshape(d**4, d**4)
    assert np.abs(s_pair - prod).max() <= 1e-12
    assert np.abs(s_pair - np.eye(d**4)).max() > 1e-2  # dissipation is visible


def test_zero_signal_idle_channel():
    """The plain idle, {'xy_i': zeros}: must equal the zero-operator idle used as a workaround above."""
    model = transmon(3, t1_us=0.3, t2_us=0.2)
    s = fast.channel(model, {"xy_i": np.zeros(50)}, 1.0)
    assert np.abs(s - fast.channel(*idle(model, 50), 1.0)).max() <= 1e-14
