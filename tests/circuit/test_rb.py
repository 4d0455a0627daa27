"""Randomized benchmarking on realized gates: group, compilation, vectorised sequences, fits, and the
RB <-> tables tie (gate-independent noise: fitted EPC = 1 - F_avg of the realized Clifford set)."""

import numpy as np
import pytest
from scipy.linalg import expm

from cryoctl.circuit import exact_table
from cryoctl.circuit.ops import rotation
from cryoctl.circuit.rb import (
    NATIVE_GATES, clifford_group, clifford_metrics, fit_decay, fit_leakage, realized_cliffords, run_rb,
    run_sequences, table_rb,
)
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError
from cryoctl.gates import GateTable

LENGTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def _with_noise(table: GateTable, after: np.ndarray) -> GateTable:
    """The table with the operation ``after`` (a d^2 x d^2 superoperator, or a d x d unitary on a
    unitary table) applied after every native pulse: gate-independent noise at the native level."""
    ops = {axis: after @ v for axis, v in table.ops.items()}
    return GateTable(profile_hash="noisy", bits=table.bits, levels=table.levels, n_qubits=table.n_qubits,
                     phase_bits=table.phase_bits, kind=table.kind, ops=ops, calibration=table.calibration)


def _depolarizing(p0: float) -> np.ndarray:
    """rho -> p0 rho + (1 - p0) I/2 on a qubit, row-major superoperator."""
    vec_i = np.eye(2).reshape(-1)
    return p0 * np.eye(4) + (1 - p0) * np.outer(vec_i, vec_i) / 2


def _same_up_to_phase(u, v) -> bool:
    return abs(abs(np.trace(u.conj().T @ v)) - 2.0) < 1e-12


def test_clifford_group_is_the_24_element_group_with_one_pulse_at_most():
    g = clifford_group()
    assert len(g) == 24
    # distinct elements, Latin-square multiplication table, identity at 0, inverses
    assert all(sorted(row) == list(range(24)) for row in g.mult)
    assert all(sorted(col) == list(range(24)) for col in g.mult.T)
    assert np.array_equal(g.mult[0], np.arange(24)) and np.array_equal(g.mult[:, 0], np.arange(24))
    assert np.all(g.mult[np.arange(24), g.inverse] == 0) and np.all(g.mult[g.inverse, np.arange(24)] == 0)
    # every word compiles to its Clifford (time order: U = U_gk ... U_g1); ideal products agree with mult
    for i, word in enumerate(g.words):
        u = np.eye(2)
        for name in word:
            u = rotation(*NATIVE_GATES[name], 2) @ u
        assert _same_up_to_phase(u, g.ideal[i])
    for a, b in [(5, 7), (13, 22), (23, 9)]:
        assert _same_up_to_phase(g.ideal[a] @ g.ideal[b], g.ideal[g.mult[a, b]])
    # virtual Z is free: I, Z90, Z-90, Z180 play no pulse, the other 20 one pulse (20/24 per Clifford)
    assert sorted(g.n_pulses) == [0] * 4 + [1] * 20
    assert g.n_pulses.mean() == pytest.approx(20 / 24, abs=1e-15)


def test_exact_table_realizes_the_ideal_cliffords_and_rb_sees_no_decay():
    table = exact_table(6, levels=3, n_qubits=2)
    rc = realized_cliffords(table, 1)
    assert rc.words["x90"] == 16 and rc.words["x-90"] == -16 and rc.words["z90"] == 2**14  # pi/2 = 16 codes
    cm = clifford_metrics(rc.superops)
    np.testing.assert_allclose(cm["fidelity"], 1.0, atol=1e-13)
    np.testing.assert_allclose(cm["leakage"], 0.0, atol=1e-13)
    res = run_rb(rc.superops, 3, lengths=[1, 4, 16, 64], n_sequences=4, rng=np.random.default_rng(0))
    np.testing.assert_allclose(res.survival_mean, 1.0, atol=1e-12)
    assert res.fit.model == "A p^m + 1/2"  # p = 1: A and B are not separable, B fixed
    assert res.epc == pytest.approx(0.0, abs=1e-12) and res.epc_err < 1e-12
    assert res.leak_fit.L1 == 0.0


def test_batched_sequences_equal_brute_force_density_matrices():
    """Each sequence by explicit d x d density-matrix products of the realized unitaries, one at a time."""
    g = clifford_group()
    rng = np.random.default_rng(3)
    # a realized set of unitaries on 3 levels: each Clifford followed by its own random small unitary
    h = rng.normal(size=(24, 3, 3)) + 1j * rng.normal(size=(24, 3, 3))
    errs = np.stack([expm(-0.05j * (x + x.conj().T)) for x in h])
    ideal3 = np.zeros((24, 3, 3), complex)
    ideal3[:, :2, :2] = g.ideal
    ideal3[:, 2, 2] = 1.0
    units = errs @ ideal3
    seq = rng.integers(0, 24, size=(7, 12))
    full = np.concatenate([seq, g.inverse[g.compose(seq)][:, None]], axis=1)
    surv, leak = run_sequences(kron_conj(units), full, 3)
    for k in range(7):
        rho = np.zeros((3, 3), complex)
        rho[0, 0] = 1.0
        total = np.eye(2)
        for c in full[k]:
            rho = units[c] @ rho @ units[c].conj().T
            total = g.ideal[c] @ total
        assert _same_up_to_phase(total, np.eye(2))  # the inverse inverts
        assert surv[k] == pytest.approx(rho[0, 0].real, abs=1e-13)
        assert leak[k] == pytest.approx(rho[2, 2].real, abs=1e-13)


def test_fit_decay_recovers_a_known_decay_and_falls_back_when_flat():
    m = np.array(LENGTHS, dtype=float)
    y = 0.47 * 0.995**m + 0.51
    fit = fit_decay(m, y, np.full(m.size, 1e-6))
    assert fit.model == "A p^m + B"
    assert fit.p == pytest.approx(0.995, abs=1e-9) and fit.A == pytest.approx(0.47, abs=1e-7)
    assert fit.epc == pytest.approx(0.0025, abs=1e-9) and 0 < fit.epc_err < 1e-6


def test_depolarizing_native_gates_epc_equals_closed_form_and_clifford_infidelity():
    """Every pulse = ideal then depolarizing(p0); virtual Z exact. Realized Clifford C = D^{n_C} C, so
    the average survival is exactly A (mean_C p0^{n_C})^m + B for m >= 2 and
    r = (1 - mean_C p0^{n_C}) / 2 = mean over the set of 1 - F_avg (closed form)."""
    g = clifford_group()
    for p0 in (0.995, 0.98):
        table = _with_noise(exact_table(5, levels=2, n_qubits=1, kind="channel"), _depolarizing(p0))
        res = table_rb(table, 0, lengths=LENGTHS[1:], n_sequences=20, rng=np.random.default_rng(11))
        closed = 0.5 * (1.0 - np.mean(p0 ** g.n_pulses))
        assert res.clifford_infidelity == pytest.approx(closed, abs=1e-14)
        assert res.epc_err < 0.1 * closed  # a real measurement, not a vacuous error bar
        assert abs(res.epc - closed) < 3 * res.epc_err, (p0, res.epc, res.epc_err, closed)


def test_gate_independent_coherent_error_epc_equals_one_minus_favg():
    """Realized Clifford = E C with one small unitary error E: P(m) = A p^m + B exactly and
    r = 1 - F_avg(E) = 1 - (|Tr E|^2 + 2) / 6 (Magesan et al. 2012)."""
    rc = realized_cliffords(exact_table(5, levels=2, n_qubits=1), 0)
    axis = np.array([[0.3, 1.0], [1.0, -0.3]]) / np.sqrt(1.09)
    e = expm(-0.5j * 0.1 * axis)
    res = run_rb(kron_conj(e) @ rc.superops, 2, lengths=LENGTHS, n_sequences=40, rng=np.random.default_rng(2))
    closed = 1.0 - (abs(np.trace(e)) ** 2 + 2) / 6
    assert res.clifford_infidelity == pytest.approx(closed, abs=1e-14)
    assert res.epc_err < 0.2 * closed
    assert abs(res.epc - closed) < 3 * res.epc_err, (res.epc, res.epc_err, closed)


def test_same_coherent_error_after_every_pulse_on_a_unitary_table():
    """Native-level coherent error (gate-dependent at the Clifford level: 4 Cliffords play no pulse):
    RB and the mean Clifford infidelity agree within the fit's error bar at this size of error."""
    e3 = np.eye(3, dtype=complex)
    e3[:2, :2] = expm(-0.5j * 0.1 * np.array([[0.3, 1.0], [1.0, -0.3]]) / np.sqrt(1.09))
    table = _with_noise(exact_table(5, levels=3, n_qubits=1), e3)
    res = table_rb(table, 0, lengths=LENGTHS, n_sequences=40, rng=np.random.default_rng(5))
    assert res.clifford_infidelity == pytest.approx((20 / 24) * (1 - (abs(np.trace(e3[:2, :2])) ** 2 + 2) / 6),
                                                    rel=1e-12)
    assert res.epc_err < 0.2 * res.clifford_infidelity
    assert abs(res.epc - res.clifford_infidelity) < 3 * res.epc_err


def test_leakage_rb_recovers_incoherent_leakage_and_seepage_rates():
    """After every pulse |1> -> |2> with probability eps and |2> -> |1> with eta (Kraus channel).
    Averaged over the set: L1 = (20/24) eps/2, L2 = (20/24) eta (pulses are the identity on |2>)."""
    eps, eta = 2e-3, 3e-3
    k0 = np.diag([1.0, np.sqrt(1 - eps), np.sqrt(1 - eta)]).astype(complex)
    k1, k2 = np.zeros((3, 3), complex), np.zeros((3, 3), complex)
    k1[2, 1], k2[1, 2] = np.sqrt(eps), np.sqrt(eta)
    noise = sum(kron_conj(k) for k in (k0, k1, k2))
    table = _with_noise(exact_table(5, levels=3, n_qubits=1, kind="channel"), noise)
    res = table_rb(table, 0, lengths=LENGTHS[:-1], n_sequences=40, rng=np.random.default_rng(0))
    l1, l2 = (20 / 24) * eps / 2, (20 / 24) * eta
    assert res.clifford_leakage == pytest.approx(l1, rel=1e-12)
    assert res.clifford_seepage == pytest.approx(l2, rel=1e-12)
    lf = res.leak_fit
    assert lf.L1_err < 0.05 * l1 and lf.L2_err < 0.1 * l2
    assert abs(lf.L1 - l1) < 3 * lf.L1_err, (lf, l1)
    assert abs(lf.L2 - l2) < 3 * lf.L2_err, (lf, l2)


def _rate_equation(lengths, l1, l2, c):
    """Leaked population by iterating x_m = x_{m-1} (1 - L2) + (1 - x_{m-1}) L1 from x_0 = c."""
    x, out = c, {}
    for m in range(1, max(lengths) + 1):
        x = x * (1 - l2) + (1 - x) * l1
        out[m] = x
    return np.array([out[m] for m in lengths])


def test_fit_leakage_on_exact_rate_equation_data():
    m = np.array(LENGTHS)
    for l1, l2, c in [(3e-6, 1.2e-3, -2e-6), (2e-4, 0.05, 1e-4)]:
        fit = fit_leakage(m, _rate_equation(LENGTHS, l1, l2, c), np.full(m.size, 1e-10))
        assert fit.L1 == pytest.approx(l1, rel=1e-5) and fit.L2 == pytest.approx(l2, rel=1e-4)
    # no saturation visible at these lengths (L2 = 0, L1 m << 1): essentially the linear early-m slope
    short = LENGTHS[:6]
    fit0 = fit_leakage(short, _rate_equation(short, 3e-6, 0.0, -2e-6), np.full(6, 1e-12))
    assert fit0.L1 == pytest.approx(3e-6, rel=1e-5) and fit0.L2 == pytest.approx(0.0, abs=1e-6)


def test_same_seed_is_bit_identical_and_seeds_differ():
    table = _with_noise(exact_table(5, levels=2, n_qubits=1, kind="channel"), _depolarizing(0.99))
    a = table_rb(table, 0, lengths=[1, 2, 4, 8, 16], n_sequences=5, rng=np.random.default_rng(7))
    b = table_rb(table, 0, lengths=[1, 2, 4, 8, 16], n_sequences=5, rng=np.random.default_rng(7))
    c = table_rb(table, 0, lengths=[1, 2, 4, 8, 16], n_sequences=5, rng=np.random.default_rng(8))
    assert np.array_equal(a.survival_mean, b.survival_mean) and a.epc == b.epc
    assert not np.array_equal(a.survival_mean, c.survival_mean)


def test_user_errors_name_the_field():
    table = exact_table(4, levels=2, n_qubits=1)
    rng = np.random.default_rng(0)
    for lengths in ([1, 2, 3], [0, 1, 2, 3], [1.5, 2, 3, 4], "1,2"):
        with pytest.raises(CryoctlError) as exc:
            table_rb(table, 0, lengths=lengths, rng=rng)
        assert exc.value.field == "lengths"
    with pytest.raises(CryoctlError) as exc:
        table_rb(table, 0, lengths=[1, 2, 3, 4], n_sequences=1, rng=rng)
    assert exc.value.field == "sequences"
    with pytest.raises(CryoctlError) as exc:
        table_rb(table, 0, lengths=[1, 2, 3, 10**8], n_sequences=2, rng=rng)
    assert exc.value.field == "lengths"
    with pytest.raises(CryoctlError) as exc:
        table_rb(table, 1, rng=rng)
    assert exc.value.field == "qubit"
    with pytest.raises(CryoctlError) as exc:
        table_rb(table, 0)
    assert exc.value.field == "rng"
