"""Gradients through channels: the Liouville-space adjoint (Executor.density_vjp) against the
density-matrix shift path (the reference), finite differences and closed forms; the pair-layout
kernels against the standard-layout ones; the code-difference rule of coarse channels."""

import numpy as np
import pytest

from cryoctl.circuit import (
    CZ, Circuit, ExactProvider, Executor, IdealCZ, PairOp, Readout, RealizedCZ, Rot, TableProvider, exact_table, rotation,
)
from cryoctl.circuit.readout import expect_z
from cryoctl.circuit.simulate import (
    apply_superop, apply_superop_pairs, cz_pairs, cz_populations, pair_diagonal, pair_layout, reduced_pairs,
    standard_layout,
)
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError
from cryoctl.gates import GateTable
from cryoctl.gates.calibration import Calibration


def layered(n: int, layers: int = 2, axes=("x", "y", "z")) -> Circuit:
    """RY(x) encoding, then `layers` x [rotations on every qubit + CZ ring]: every block kind the
    adjoint handles (a first block with data and parameters, later parameter blocks, CZ blocks)."""
    gates, k = [Rot("y", q, "x", q) for q in range(n)], 0
    for _ in range(layers):
        for q in range(n):
            for a in axes:
                gates.append(Rot(a, q, "p", k))
                k += 1
        gates += [CZ(q, (q + 1) % n) for q in range(n)] if n > 2 else [CZ(0, 1)]
    return Circuit(n, tuple(gates))


def random_channel(dim: int, rng, kraus: int = 3) -> np.ndarray:
    """A random CPTP map as a row-major superoperator: Kraus K_i = V[i-th block] of a random isometry."""
    z = rng.normal(size=(kraus * dim, dim)) + 1j * rng.normal(size=(kraus * dim, dim))
    v, _ = np.linalg.qr(z)
    return sum(kron_conj(v[i * dim:(i + 1) * dim]) for i in range(kraus))


def random_unitary(dim: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def shift_vjp(ex, c, x, codes, w):
    e, jac = ex.shift_jacobian(c, x, codes)
    return e, np.einsum("mbn,bn->m", jac, w)


@pytest.mark.parametrize("d,kind,p", [(2, "channel", 0.05), (3, "channel", 0.05), (3, "unitary", 0.02), (3, "channel", 0.0)])
def test_density_adjoint_equals_density_shift_path(d, kind, p):
    """Both are exact here: the shift path plays E(theta +- s) in 2 m + 1 density-matrix runs, the adjoint
    contracts the same shifted gate between the forward state and the backward observable."""
    rng = np.random.default_rng(d)
    c = layered(3)
    ex = Executor(TableProvider(exact_table(5, levels=d, n_qubits=3, kind=kind, angle_per_code=np.pi / 14.4,
                                            phase_bits=8)),
                  entangler=IdealCZ(p), readout=Readout(0.02, 0.05), mode="density")
    codes = ex.encode_params(c, rng.uniform(-1.3, 1.3, c.n_params))
    x = rng.uniform(0, np.pi, (4, 3))
    w = rng.normal(size=(4, 3))
    e0, gs = shift_vjp(ex, c, x, codes, w)
    e, ga = ex.density_vjp(c, x, codes, w[None])
    assert ex.can_density_adjoint and not ex.can_adjoint
    assert np.abs(e[0] - e0).max() < 1e-13
    assert np.abs(ga[0] - gs).max() < 1e-10 and np.abs(gs).max() > 1e-2
    # a callable cotangent sees the forward's own <Z> (one forward sweep for loss and gradient)
    e2, g2 = ex.density_vjp(c, x, codes, lambda ez: np.asarray(w)[None] * (ez * 0 + 1))
    assert np.array_equal(e2, e) and np.allclose(g2, ga, atol=1e-14)


@pytest.mark.parametrize("noisy", [False, True])
def test_density_adjoint_through_realized_pair_operations(noisy):
    """A realized entangler (unitary or channel per pair, not diagonal, not symmetric): its backward map
    is U^T . conj(U) (unitary) or S^T (channel); the adjoint must still equal the shift path."""
    rng = np.random.default_rng(7 + noisy)
    d, n = 3, 3
    c = layered(n, axes=("x", "y"))
    pairs = [(0, 1), (1, 2), (2, 0)]
    ops = [random_channel(d * d, rng) if noisy else random_unitary(d * d, rng) for _ in pairs]
    ent = RealizedCZ(tuple(PairOp(pq, op) for pq, op in zip(pairs, ops)), d)
    ex = Executor(TableProvider(exact_table(5, levels=d, n_qubits=n, kind="channel")), entangler=ent)
    codes = ex.encode_params(c, rng.uniform(-1.3, 1.3, c.n_params))
    x = rng.uniform(0, np.pi, (3, n))
    w = rng.normal(size=(3, n))
    e0, gs = shift_vjp(ex, c, x, codes, w)
    e, ga = ex.density_vjp(c, x, codes, w[None])
    assert np.abs(e[0] - e0).max() < 1e-13
    assert np.abs(ga[0] - gs).max() < 1e-10 and np.abs(gs).max() > 1e-2


@pytest.mark.parametrize("realized", [False, True])
def test_observable_batched_backward_equals_the_per_sample_sweep(realized, monkeypatch):
    """B > n samples: behind the data-encoding block the sweeps carry the n observables Z_q backwards and the
    n weighted states R_q = sum_b w_bq rho_b forwards (executor docstring, 'Observable batching'); <Z_q> is
    <Lambda_q, rho_b> on the product states. One sample at a time (B = 1 <= n) the sweep is per sample.
    Same <Z> (and the same as a forward run) and gradients that add up to the same numbers, for two
    parameter sets at once, through an ideal depolarizing or a realized channel CZ."""
    import cryoctl.circuit.executor as executor_module

    rng = np.random.default_rng(21 + realized)
    d, n = 3, 3
    c = layered(n, layers=3)
    pairs = [(0, 1), (1, 2), (2, 0)]
    ent = RealizedCZ(tuple(PairOp(pq, random_channel(d * d, rng)) for pq in pairs), d) if realized else IdealCZ(0.05)
    ex = Executor(TableProvider(exact_table(5, levels=d, n_qubits=n, kind="channel", angle_per_code=np.pi / 14.4,
                                            phase_bits=8)), entangler=ent, readout=Readout(0.02, 0.05))
    codes = ex.encode_params(c, rng.uniform(-1.3, 1.3, (2, c.n_params)))
    x = rng.uniform(0, np.pi, (12, n))
    w = rng.normal(size=(2, 12, n))
    calls = []
    real = executor_module.weighted_sum
    monkeypatch.setattr(executor_module, "weighted_sum", lambda *a: calls.append(a[1].shape) or real(*a))
    e, g = ex.density_vjp(c, x, codes, w)
    assert calls == [(2, n, 9**n), (2, 12, 9**n)]  # Lambda_b = sum_q w_bq Lambda_q for block 0; R_q
    calls.clear()
    parts = [ex.density_vjp(c, x[b: b + 1], codes, w[:, b: b + 1]) for b in range(12)]
    assert not calls  # one sample: the per-sample sweep
    assert np.abs(e - np.concatenate([p[0] for p in parts], axis=1)).max() < 1e-14
    assert np.abs(e - ex.expect(c, x, codes)).max() < 1e-14  # two sets: expect runs forwards
    # one set, B > n: expect batches the observables too; the forward run's populations give the same <Z>
    by_obs = Executor._expect_by_observables
    monkeypatch.setattr(Executor, "_expect_by_observables",
                        lambda self, prog: calls.append(prog.B) or by_obs(self, prog))
    one = ex.expect(c, x, codes[:1])
    assert calls == [12] and np.abs(one - expect_z(ex.populations(c, x, codes[:1]), n, ex.readout)).max() < 1e-14
    g1 = sum(p[1] for p in parts)
    assert np.abs(g - g1).max() < 1e-12 and np.abs(g1).max() > 1e-2


def test_density_adjoint_on_exact_channels_equals_finite_differences():
    """ExactProvider on d = 3 levels with a depolarizing CZ: the adjoint uses the analytic derivative of
    kron(U, U*) and must equal central finite differences of the exact density-matrix expectation
    (on d = 3 the shift rule would not: leakage-qubit coherences make E(theta) carry theta/2 terms)."""
    rng = np.random.default_rng(11)
    c = layered(3)
    ex = Executor(ExactProvider(3), entangler=IdealCZ(0.04), readout=Readout(0.01, 0.03))
    assert ex.mode == "density"
    th = rng.uniform(-np.pi, np.pi, (2, c.n_params))  # two parameter sets at once
    x = rng.uniform(0, np.pi, (3, 3))
    w = rng.normal(size=(2, 3, 3))
    _, g = ex.density_vjp(c, x, th, w)
    m, eps = c.n_params, 1e-5
    for p in range(2):
        sets = np.repeat(th[p][None], 2 * m, axis=0)
        sets[np.arange(m), np.arange(m)] += eps
        sets[m + np.arange(m), np.arange(m)] -= eps
        e = (ex.expect(c, x, sets) * w[p]).sum(axis=(1, 2))
        assert np.allclose(g[p], (e[:m] - e[m:]) / (2 * eps), atol=1e-8)
    # on 2 levels a noiseless density run is the pure-state adjoint
    pure, dens = Executor(ExactProvider(2)), Executor(ExactProvider(2), mode="density")
    assert np.allclose(dens.density_vjp(c, x, th, w)[1], pure.adjoint_vjp(c, x, th, w)[1], atol=1e-12)


def test_density_adjoint_needs_exact_expectations():
    c = layered(2)
    ex = Executor(ExactProvider(2), entangler=IdealCZ(0.1), readout=Readout(shots=100))
    assert not ex.can_density_adjoint
    with pytest.raises(CryoctlError) as e:
        ex.density_vjp(c, np.zeros((1, 2)), np.zeros(c.n_params), np.ones((1, 1, 2)))
    assert e.value.field == "gradient"


def test_pair_layout_kernels_match_standard_layout():
    rng = np.random.default_rng(3)
    n, d, P, B = 3, 3, 2, 2
    dim = d**n
    rho = rng.normal(size=(P, B, dim, dim)) + 1j * rng.normal(size=(P, B, dim, dim))
    r = pair_layout(rho, n, d)
    assert np.array_equal(standard_layout(r, n, d), rho)
    assert np.array_equal(r[:, :, pair_diagonal(n, d)], np.diagonal(rho, axis1=-2, axis2=-1))
    s = rng.normal(size=(P, 1, d * d, d * d)) + 1j * rng.normal(size=(P, 1, d * d, d * d))
    lam = rng.normal(size=r.shape) + 1j * rng.normal(size=r.shape)
    x = rng.normal(size=(d * d, d * d))
    for q in range(n):
        out = apply_superop_pairs(r, s, q, n, d)
        assert np.abs(standard_layout(out, n, d) - apply_superop(rho, s, q, n, d)).max() < 1e-12
        m = reduced_pairs(lam, r, q, n, d)  # <lam, (X on q) r> = sum M X
        lhs = np.einsum("pbac,ac->pb", m, x)
        rhs = (lam * apply_superop_pairs(r, np.broadcast_to(x, (1, 1) + x.shape), q, n, d)).sum(-1)
        assert np.abs(lhs - rhs).max() < 1e-10
    pairs = [(0, 1), (1, 2), (2, 0)]
    for p in (0.0, 0.3):
        ref = IdealCZ(p).apply_density(rho.copy(), pairs, n, d)
        assert np.abs(standard_layout(cz_pairs(r, pairs, p, n, d), n, d) - ref).max() < 1e-13
        # self-dual: <lam, CZ(r)> = <CZ_reversed(lam), r>
        assert abs((lam * cz_pairs(r, pairs, p, n, d)).sum() - (cz_pairs(lam, pairs[::-1], p, n, d) * r).sum()) < 1e-10
        pops = np.diagonal(rho, axis1=-2, axis2=-1).real.copy()
        assert np.abs(cz_populations(pops, pairs, p, n, d) - np.diagonal(ref, axis1=-2, axis2=-1).real).max() < 1e-13


@pytest.mark.parametrize("entangler", [IdealCZ(0.0), IdealCZ(0.06)])
def test_density_populations_tail_equals_full_diagonal(entangler):
    """The last rotation block and trailing CZs on populations only = diag of the full density matrix."""
    rng = np.random.default_rng(5)
    c = layered(3)
    ex = Executor(TableProvider(exact_table(6, levels=3, n_qubits=3, kind="channel")), entangler=entangler)
    codes = rng.integers(-32, 32, (2, c.n_params))
    x = rng.uniform(0, np.pi, (3, 3))
    rho = ex.final_state(c, x, codes)
    pops = np.diagonal(rho, axis1=-2, axis2=-1).real.reshape((2, 3) + (3,) * 3)
    assert np.abs(ex.populations(c, x, codes) - pops).max() < 1e-14
    assert np.allclose(pops.sum(axis=(2, 3, 4)), 1.0)


def coarse_table(bits: int, angle_per_code: float) -> GateTable:
    """What a 1- or 2-bit drive DAC looks like after calibration: the only positive code is the pi code
    (pi_code = 1, nominal step pi), while a code really rotates by ``angle_per_code`` (1.8 rad on the
    2-bit cryo-CMOS profile)."""
    codes = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    ops = {a: kron_conj(rotation(a, np.broadcast_to(codes * angle_per_code, (2, codes.size)), 2)) for a in ("x", "y")}
    cal = Calibration.linear(n_qubits=2, bits=bits, step=np.pi, profile_hash="coarse")
    return GateTable(profile_hash="coarse", bits=bits, levels=2, n_qubits=2, phase_bits=8, kind="channel", ops=ops,
                     calibration=cal)


def test_coarse_channel_uses_code_difference_of_interpolated_loss():
    """pi code 1 (step pi: 1- and 2-bit drive DACs): every whole-code shift is a multiple of pi, so drive
    parameters use [E(c + 1) - E(c - 1)] / (2 step), the slope of E interpolated linearly between codes;
    phase-word parameters keep the generalised shift rule. Both paths (shift, adjoint) give it."""
    rng = np.random.default_rng(9)
    c = layered(2)
    ex = Executor(TableProvider(coarse_table(2, 1.8)), entangler=IdealCZ(0.03))
    axes = np.array(c.param_axes)
    k, s = ex.code_shift(c)  # no error any more
    move, denom = ex.shift_rule(c)
    drive = axes != "z"
    assert np.all(k[drive] == 1) and np.allclose(denom[drive], 2 * np.pi)
    assert np.all(k[~drive] == 64) and np.allclose(denom[~drive], 2 * np.sin(64 * 2 * np.pi / 256))
    codes = np.where(drive, rng.integers(-1, 1, c.n_params), rng.integers(-128, 128, c.n_params))
    x = rng.uniform(0, np.pi, (3, 2))
    w = rng.normal(size=(3, 2))
    _, gs = shift_vjp(ex, c, x, codes, w)
    _, ga = ex.density_vjp(c, x, codes, w[None])
    assert np.abs(ga[0] - gs).max() < 1e-12
    for j in np.flatnonzero(drive):  # the closed form, parameter by parameter
        up, dn = codes.copy(), codes.copy()
        up[j] += 1
        dn[j] -= 1
        e = (ex.expect(c, x, np.stack([up, dn])) * w).sum(axis=(1, 2))  # codes -1, 0 have in-range neighbours
        assert gs[j] == pytest.approx((e[0] - e[1]) / (2 * np.pi), abs=1e-13)
    assert np.abs(gs[drive]).min() > 1e-4
    # 1 bit: two codes, +1 and -1 wrap onto the same code: no direction exists, the drive slope is 0
    one = Executor(TableProvider(coarse_table(1, 2.8)), entangler=IdealCZ(0.03))
    codes1 = np.where(drive, -1, codes)
    _, g1 = shift_vjp(one, c, x, codes1, w)
    assert np.all(g1[drive] == 0.0) and np.abs(g1[~drive]).max() > 1e-3
    assert np.abs(one.density_vjp(c, x, codes1, w[None])[1][0] - g1).max() < 1e-12
    # a finer channel keeps the generalised shift rule (pi code 2: s = pi / 2)
    fine = Executor(TableProvider(exact_table(3, levels=2, n_qubits=2, angle_per_code=np.pi / 2)))
    assert np.allclose(fine.shift_rule(c)[1][drive], 2.0)


@pytest.mark.parametrize("realized", [False, True])
def test_line_expectations_equal_one_run_per_candidate(realized):
    """E along one parameter from one forward and one backward sweep (linear in its superoperator) equals one
    density-matrix run per candidate code, for every parameter of a circuit whose blocks hold data gates and
    several gates per qubit (Pre and Suf), with readout errors and a noisy ideal or a realized CZ."""
    rng = np.random.default_rng(11)
    d, n = 3, 3
    c = layered(n)
    if realized:
        pairs = [(0, 1), (1, 2), (2, 0)]
        ent = RealizedCZ(tuple(PairOp(pq, random_channel(d * d, rng)) for pq in pairs), d)
    else:
        ent = IdealCZ(0.04)
    ex = Executor(TableProvider(exact_table(4, levels=d, n_qubits=n, kind="channel", angle_per_code=np.pi / 6.6,
                                            phase_bits=5)), entangler=ent, readout=Readout(0.02, 0.05))
    codes = ex.encode_params(c, rng.uniform(-1.3, 1.3, c.n_params))
    x = rng.uniform(0, np.pi, (5, n))
    worst = 0.0
    for k in range(c.n_params):
        cands = np.arange(-8, 8) if c.param_axes[k] != "z" else np.arange(-16, 16)
        sets = np.repeat(codes[None], len(cands), axis=0)
        sets[:, k] = cands
        ref = ex.expect(c, x, sets)
        got = ex.line_expectations(c, x, codes, k, cands)
        assert np.ptp(ref) > 1e-3
        worst = max(worst, float(np.abs(got - ref).max()))
    assert worst < 1e-12
    with pytest.raises(CryoctlError, match="one parameter set"):
        ex.line_expectations(c, x, np.stack([codes, codes]), 0, [0])
