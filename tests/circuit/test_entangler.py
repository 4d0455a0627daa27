"""Entanglers against brute force: the realized CZ on its pair's axes (statevector, density, channel), the
leakage-preserving CZ depolarizing, the pair cache, and the errors a user can cause."""

import itertools

import numpy as np
import pytest

from cryoctl.circuit import (
    CZ, Circuit, ExactProvider, Executor, IdealCZ, PairOp, RealizedCZ, Rot, circuit_pairs, depolarize_pair,
    entangler_for, realized_pair, rotation,
)
from cryoctl.circuit import entangler as ent
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError
from cryoctl.profile import load_profile

RING4 = "couplings=[{qubits: [0, 1], j_mhz: 10.0}, {qubits: [1, 2], j_mhz: 10.0}, {qubits: [2, 3], j_mhz: 10.0}, " \
        "{qubits: [3, 0], j_mhz: 10.0}]"


def flux_ring_profile(flux_bits=14, extra=()):
    """4 qubits, a coupled ring, 0 and 2 tunable (sweet spot at 6.0 / 6.1 GHz), 1 and 3 fixed (5.0 / 5.05 GHz),
    alpha -0.3 GHz, J = 2 pi x 10 MHz: every ring pair has its |11>-|20> point below the tunable qubit."""
    flux = (f"flux={{dac: {{bits: {flux_bits}}}, full_scale_phi0: 0.25, rise_ns: 5.0, "
            "qubits: [{index: 0, f_max_ghz: 6.0}, {index: 1, f_max_ghz: 5.0, asymmetry: 1.0}, "
            "{index: 2, f_max_ghz: 6.1}, {index: 3, f_max_ghz: 5.05, asymmetry: 1.0}]}")
    return load_profile("ideal", ["qubits.count=4", "dac.bits=8", RING4, flux, *extra])


def random_unitary(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def dense_pair_op(m, a, b, n, d):
    """Brute force: the d^n x d^n matrix of m (d^2 x d^2, qubit a = left factor) on qubits (a, b), identity on
    the others, entry by entry over basis states."""
    dim = d**n
    out = np.zeros((dim, dim), dtype=complex)
    states = list(itertools.product(range(d), repeat=n))
    for i, si in enumerate(states):
        for j, sj in enumerate(states):
            if all(si[q] == sj[q] for q in range(n) if q not in (a, b)):
                out[i, j] = m[si[a] * d + si[b], sj[a] * d + sj[b]]
    return out


def dense_1q(u, q, n, d):
    mats = [u if k == q else np.eye(d) for k in range(n)]
    out = mats[0]
    for mk in mats[1:]:
        out = np.kron(out, mk)
    return out


# --- RealizedCZ against a dense application -------------------------------------------------------------------


def test_realized_cz_equals_dense_pair_operator_on_state_density_and_channel():
    rng = np.random.default_rng(7)
    n, d = 3, 3
    u02, u12 = random_unitary(rng, d * d), random_unitary(rng, d * d)
    rc = RealizedCZ((PairOp((2, 0), u02), PairOp((1, 2), u12)), d)
    pairs = [(0, 2), (2, 1)]  # the circuit names them in the other order: the pair's own orientation is used
    full = dense_pair_op(u12, 1, 2, n, d) @ dense_pair_op(u02, 2, 0, n, d)
    P, B = 2, 3
    psi = rng.normal(size=(P, B, d**n)) + 1j * rng.normal(size=(P, B, d**n))
    out = rc.apply_state(psi.copy(), pairs, n, d)
    assert np.abs(out - psi @ full.T).max() < 1e-12
    assert np.abs(rc.undo_state(out, pairs, n, d) - psi).max() < 1e-12
    rho = np.einsum("pbi,pbj->pbij", psi, psi.conj())
    out_rho = rc.apply_density(rho.copy(), pairs, n, d)
    assert np.abs(out_rho - full @ rho @ full.conj().T).max() < 1e-11
    # a channel (two Kraus operators per pair, row-major superoperator) against the dense Kraus sum
    k1, k2 = random_unitary(rng, d * d) * np.sqrt(0.7), random_unitary(rng, d * d) * np.sqrt(0.3)
    s02 = kron_conj(k1) + kron_conj(k2)
    rc_ch = RealizedCZ((PairOp((2, 0), s02), PairOp((1, 2), u12)), d)  # the unitary is lifted to kron(U, U*)
    assert rc_ch.noisy and rc_ch.kind == "channel"
    f1, f2, fu = dense_pair_op(k1, 2, 0, n, d), dense_pair_op(k2, 2, 0, n, d), dense_pair_op(u12, 1, 2, n, d)
    mid = f1 @ rho @ f1.conj().T + f2 @ rho @ f2.conj().T
    ref = fu @ mid @ fu.conj().T
    assert np.abs(rc_ch.apply_density(rho.copy(), pairs, n, d) - ref).max() < 1e-11
    with pytest.raises(CryoctlError) as e:
        rc_ch.apply_state(psi, pairs, n, d)
    assert e.value.field == "mode"


def test_executor_with_realized_cz_matches_a_dense_simulation_and_the_adjoint_is_exact():
    """A 3-qubit, 3-level circuit (data RY, parameter RY/RZ, two CZ rings, the last one trailing) with random
    pair unitaries: populations, statevector and density paths, and the adjoint gradient vs finite differences."""
    rng = np.random.default_rng(3)
    n, d = 3, 3
    ops = {p: random_unitary(rng, d * d) for p in ((0, 1), (1, 2), (2, 0))}
    rc = RealizedCZ(tuple(PairOp(p, u) for p, u in ops.items()), d)
    gates = [Rot("y", q, "x", q) for q in range(n)]
    gates += [Rot("y", q, "p", q) for q in range(n)] + [CZ(0, 1), CZ(1, 2), CZ(2, 0)]
    gates += [Rot("z", q, "p", n + q) for q in range(n)] + [Rot("y", q, "p", 2 * n + q) for q in range(n)]
    gates += [CZ(0, 1), CZ(1, 2), CZ(2, 0)]
    circ = Circuit(n, tuple(gates))
    x = rng.uniform(0, np.pi, (4, n))
    th = rng.uniform(-np.pi, np.pi, (2, circ.n_params))

    def dense(p, b):
        psi = np.zeros(d**n, complex)
        psi[0] = 1.0
        for g in circ.gates:
            if isinstance(g, Rot):
                ang = x[b, g.index] if g.source == "x" else th[p, g.index]
                psi = dense_1q(rotation(g.axis, ang, d), g.qubit, n, d) @ psi
            else:
                key = (g.a, g.b) if (g.a, g.b) in ops else (g.b, g.a)
                psi = dense_pair_op(ops[key], *key, n, d) @ psi
        return psi

    ref = np.array([[np.abs(dense(p, b)) ** 2 for b in range(4)] for p in range(2)]).reshape((2, 4) + (d,) * n)
    sv = Executor(ExactProvider(d), entangler=rc)
    assert sv.mode == "statevector" and sv.can_adjoint
    assert np.abs(sv.populations(circ, x, th) - ref).max() < 1e-12  # the trailing ring is played
    dm = Executor(ExactProvider(d), entangler=rc, mode="density")
    assert np.abs(dm.populations(circ, x, th) - ref).max() < 1e-12
    # adjoint gradient of sum w <Z> vs central finite differences (the realized CZ is not diagonal)
    w = rng.normal(size=(1, 4, n))
    _, g = sv.adjoint_vjp(circ, x, th[:1], w)
    eps = 1e-6
    fd = np.zeros(circ.n_params)
    for k in range(circ.n_params):
        tp, tm = th[:1].copy(), th[:1].copy()
        tp[0, k] += eps
        tm[0, k] -= eps
        fd[k] = (np.sum(w * sv.expect(circ, x, tp)) - np.sum(w * sv.expect(circ, x, tm))) / (2 * eps)
    assert np.abs(g[0] - fd).max() < 1e-7


# --- IdealCZ depolarizing keeps leakage where it is ------------------------------------------------------------


def test_cz_depolarizing_keeps_leaked_population_and_equals_its_kraus_form():
    rng = np.random.default_rng(5)
    n, d, p, a, b = 3, 3, 0.3, 2, 0
    g = rng.normal(size=(d**n, d**n)) + 1j * rng.normal(size=(d**n, d**n))
    rho = g @ g.conj().T
    rho /= np.trace(rho)
    out = depolarize_pair(rho[None, None].copy(), a, b, p, n, d)[0, 0]
    # Kraus form: sqrt(1-p) 1, sqrt(p) Q, sqrt(p)/2 |m><k| on the pair's computational states
    comp = [i * d + j for i in (0, 1) for j in (0, 1)]
    pi = np.zeros((d * d, d * d))
    pi[comp, comp] = 1.0
    q = dense_pair_op(np.eye(d * d) - pi, a, b, n, d)
    ref = (1 - p) * rho + p * q @ rho @ q
    for m, k in itertools.product(comp, comp):
        e = np.zeros((d * d, d * d))
        e[m, k] = 0.5
        km = dense_pair_op(e, a, b, n, d)
        ref = ref + p * km @ rho @ km.conj().T
    assert np.abs(out - ref).max() < 1e-14
    assert np.trace(out).real == pytest.approx(1.0, abs=1e-14)

    # population with a qubit of the pair in level 2 stays there; the old channel moved it into {0, 1}
    def leaked(r):
        pops = np.diag(r).real.reshape((d,) * n)
        return pops[2].sum() + pops[:, :, 2].sum() - pops[2, :, 2].sum()

    assert leaked(out) == pytest.approx(leaked(rho), abs=1e-14) and leaked(rho) > 0.1
    # |20><20| is a fixed point; |11><11| -> (1 - p)|11><11| + p Pi/4
    for state, expected in (((2, 0, 0), None), ((1, 0, 1), "mix")):
        v = np.zeros(d**n)
        v[np.ravel_multi_index(state, (d,) * n)] = 1.0
        r0 = np.outer(v, v).astype(complex)
        r1 = depolarize_pair(r0[None, None].copy(), a, b, p, n, d)[0, 0]
        if expected is None:
            assert np.abs(r1 - r0).max() == 0.0
        else:
            pops = np.diag(r1).real.reshape((d,) * n)
            assert pops[1, 0, 1] == pytest.approx(1 - p + p / 4) and pops[0, 0, 0] == pytest.approx(p / 4)
            assert pops[2].sum() == 0.0
    # two levels: the textbook (1 - p) rho + p Tr_ab(rho) (x) 1/4
    r2 = rho.reshape((d,) * (2 * n))[:2, :2, :2, :2, :2, :2].reshape(8, 8)
    r2 = r2 / np.trace(r2)
    t = np.einsum("aibajb->ij", r2.reshape(2, 2, 2, 2, 2, 2))  # trace out qubits 0 and 2
    textbook = (1 - p) * r2 + p * np.einsum("ij,ac,bd->aibcjd", t, np.eye(2) / 2, np.eye(2) / 2).reshape(8, 8)
    assert np.abs(depolarize_pair(r2[None, None].copy(), 0, 2, p, n, 2)[0, 0] - textbook).max() < 1e-14


def test_leaked_population_stays_leaked_through_both_entanglers():
    """A pair operation that swaps |0> and |2> of qubit 0 leaks |00> to |20> and the populations show it (no
    trailing-block shortcut); the noisy ideal CZ leaves |20> alone."""
    leak = np.eye(3, dtype=complex)[[2, 1, 0]]
    czl = RealizedCZ((PairOp((0, 1), np.kron(leak, np.eye(3))),), 3)
    pop = Executor(ExactProvider(3), entangler=czl).populations(Circuit(2, (CZ(0, 1),)))[0, 0]
    assert pop[2, 0] == pytest.approx(1.0)
    ideal = Executor(ExactProvider(3), entangler=IdealCZ(0.5), mode="density")
    rho = np.zeros((1, 1, 9, 9), complex)
    rho[0, 0, 6, 6] = 1.0  # |20>
    assert np.abs(ideal.entangler.apply_density(rho.copy(), [(0, 1)], 2, 3) - rho).max() == 0.0


# --- building from a profile, cache, errors -------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cz-cache")


def test_realized_cz_from_a_flux_profile_and_its_cache(cache):
    ent.clear_memo()
    prof = flux_ring_profile()
    rc = RealizedCZ.from_profile(prof, [(1, 0), (2, 3)], cache_dir=cache)
    assert [po.qubits for po in rc.pairs] == [(0, 1), (2, 3)]  # the couplings' orientation
    for po in rc.pairs:  # a good CZ at 14 flux bits (tests/gates/test_cz.py numbers)
        assert abs(po.info["phase_error"]) < 0.01 and po.info["leakage"] < 1e-3 and po.info["fidelity"] > 0.999
        assert np.abs(po.operation @ po.operation.conj().T - np.eye(9)).max() < 1e-12
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and all(f.startswith("gates-") and "-cz" in f and f.endswith(".npz") for f in files)
    # the disk copy is what was built; a corrupt file is rebuilt, not an error
    ent.clear_memo()
    again = realized_pair(prof, (0, 1), cache_dir=cache)
    assert np.array_equal(again.operation, rc.pairs[0].operation) and again.info == rc.pairs[0].info
    ent.clear_memo()
    bad = next(p for p in cache.iterdir() if "-cz0-1-" in p.name)
    bad.write_bytes(b"garbage")
    rebuilt = realized_pair(prof, (0, 1), cache_dir=cache)
    assert np.abs(rebuilt.operation - rc.pairs[0].operation).max() < 1e-14
    # the key holds only what the pair's CZ depends on: the XY DAC does not, the flux DAC does
    k = ent.realized_pair_key
    assert k(prof, (0, 1), "fast", False) == k(flux_ring_profile(extra=["dac.bits=6"]), (0, 1), "fast", False)
    assert k(prof, (0, 1), "fast", False) != k(flux_ring_profile(flux_bits=12), (0, 1), "fast", False)
    assert k(prof, (0, 1), "fast", False) != k(prof, (2, 3), "fast", False)


def test_entangler_choice_and_user_errors(cache):
    prof = flux_ring_profile()
    assert isinstance(entangler_for(prof, [(0, 1)], "auto", cache_dir=cache), RealizedCZ)
    assert isinstance(entangler_for(prof, [(0, 1)], "ideal"), IdealCZ)
    assert isinstance(entangler_for(load_profile("ideal"), None, "auto"), IdealCZ)
    with pytest.raises(CryoctlError) as e:
        entangler_for(load_profile("ideal"), None, "realized")
    assert e.value.field == "flux"
    with pytest.raises(CryoctlError) as e:
        entangler_for(prof, [(0, 1)], "best")
    assert e.value.field == "entangler"
    with pytest.raises(CryoctlError) as e:  # a diagonal of the ring is not coupled
        RealizedCZ.from_profile(prof, [(0, 2)], cache_dir=cache)
    assert e.value.field == "couplings" and "(0, 2)" in str(e.value)
    rc = RealizedCZ.from_profile(prof, [(0, 1)], cache_dir=cache)
    with pytest.raises(CryoctlError) as e:  # a circuit CZ on a pair without a realized CZ
        Executor(ExactProvider(3), entangler=rc).populations(Circuit(4, (CZ(1, 2),)))
    assert e.value.field == "couplings"
    with pytest.raises(CryoctlError) as e:  # 3-level CZ on a 2-level register
        Executor(ExactProvider(2), entangler=rc)
    assert e.value.field == "levels"
    with pytest.raises(CryoctlError) as e:
        RealizedCZ((PairOp((0, 1), np.eye(4)),), 3)
    assert e.value.field == "entangler"
    assert circuit_pairs(Circuit(3, (CZ(0, 1), CZ(1, 0), CZ(1, 2)))) == [(0, 1), (1, 2)]
