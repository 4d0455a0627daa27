"""The JAX circuit backend against the numpy Executor: forward (statevector, density), gradients (autodiff vs
the adjoint sweep, the code-grid shift rule on tables), shots, the QNN trainer, and the install hint.

Every comparison is numpy == JAX to 1e-10 in float64, on 3-level registers, with non-trivial inputs (random
angles, tables with per-code errors, depolarizing and realized CZs, readout errors), so a wrong gather, a
wrong axis or a wrong sign fails them.
"""

import dataclasses
import importlib
import sys

import numpy as np
import pytest
import scipy.linalg as sla

from cryoctl.circuit import Executor, ExactProvider, IdealCZ, IdealQuantizer, Readout, TableProvider, exact_table
from cryoctl.circuit.description import CZ, Circuit, Rot
from cryoctl.circuit.entangler import PairOp, RealizedCZ
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError

TOL = 1e-10
D = 3
N = 2  # most cases; the ring of three (spectator axes, three realized pairs) runs where marked "3"


def circuit(n):
    """RY(x) encoding, two layers of [RX, RZ, RY] per qubit with CZ rings, then a data gate RX(x_0) on qubit 2
    and parameter 0 (RX on qubit 0) played a second time (its gradient is the sum over both gates)."""
    gates = [Rot("y", q, "x", q) for q in range(n)]
    k = 0
    for _ in range(2):
        for q in range(n):
            for a in ("x", "z", "y"):
                gates.append(Rot(a, q, "p", k))
                k += 1
        gates += [CZ(q, (q + 1) % n) for q in range(n)] if n > 2 else [CZ(0, 1)]
    gates += [Rot("x", n - 1, "x", 0), Rot("x", 0, "p", 0)]
    return Circuit(n, tuple(gates))


@pytest.fixture(scope="module")
def jb():
    pytest.importorskip("jax")
    return importlib.import_module("cryoctl.circuit.jax_backend")


def _random_unitary(rng, dim):
    h = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    return sla.expm(-1j * (h + h.conj().T) / 2)


def noisy_table(kind="unitary", n=N, bits=5, seed=0):
    """exact_table at a non-grid step, every code's gate followed by its own random small unitary (leakage
    included); channels: a mixture with a second random unitary (trace preserving)."""
    rng = np.random.default_rng(seed)
    base = exact_table(bits, D, n, angle_per_code=0.13)
    ops = {}
    for axis, u in base.ops.items():
        err = np.stack([[sla.expm(-1j * 0.05 * (h + h.conj().T)) for h in
                         rng.normal(size=(u.shape[1], D, D)) + 1j * rng.normal(size=(u.shape[1], D, D))]
                        for _ in range(n)])
        v = err @ u
        if kind == "channel":
            w = _random_unitary(rng, D) @ v
            ops[axis] = 0.97 * kron_conj(v) + 0.03 * kron_conj(w)
        else:
            ops[axis] = v
    return dataclasses.replace(base, ops=ops, kind=kind)


def realized_cz(kind, n=N, seed=1):
    rng = np.random.default_rng(seed)
    pairs = []
    for a, b in ([(0, 1), (1, 2), (2, 0)] if n == 3 else [(0, 1)]):
        cz = np.diag(np.where(np.arange(D * D) == D + 1, -1.0, 1.0)).astype(complex)  # -1 on |11>
        h = rng.normal(size=(D * D, D * D))
        u = sla.expm(-1j * 0.1 * (h + h.T)) @ cz  # a CZ with coherent errors and leakage
        op = u if kind == "unitary" else 0.95 * kron_conj(u) + 0.05 * kron_conj(_random_unitary(rng, D * D))
        pairs.append(PairOp((a, b), op))
    return RealizedCZ(tuple(pairs), D)


CASES = {  # name -> (n qubits, provider, entangler)
    "exact": lambda: (N, ExactProvider(D), IdealCZ()),
    "ideal6": lambda: (N, IdealQuantizer(6, D), IdealCZ()),
    "table": lambda: (N, TableProvider(noisy_table()), IdealCZ()),
    "table+realized3": lambda: (3, TableProvider(noisy_table(n=3)), realized_cz("unitary", 3)),
    "exact+depol": lambda: (N, ExactProvider(D), IdealCZ(0.05)),
    "channel+depol3": lambda: (3, TableProvider(noisy_table("channel", 3)), IdealCZ(0.03)),
    "channel+realized": lambda: (N, TableProvider(noisy_table("channel")), realized_cz("channel")),
    "table+realized-density": lambda: (N, TableProvider(noisy_table()), realized_cz("unitary")),
}


def pair_of_executors(jb, name, readout=None):
    """(circuit, numpy Executor, JaxExecutor) of a case."""
    n, prov, ent = CASES[name]()
    mode = "density" if name == "table+realized-density" else "auto"
    ro = readout or Readout(0.02, 0.05)
    return (circuit(n), Executor(prov, entangler=ent, readout=ro, mode=mode),
            jb.JaxExecutor(prov, entangler=ent, readout=ro, mode=mode))


def inputs(ne, c, P=2, B=4, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, np.pi, (B, c.n_inputs))
    angles = rng.uniform(-np.pi, np.pi, (P, c.n_params))
    return x, (ne.encode_params(c, angles) if ne.quantized else angles)


@pytest.mark.parametrize("name", list(CASES))
def test_forward_matches_numpy(jb, name):
    c, ne, je = pair_of_executors(jb, name)
    assert je.mode == ne.mode == ("statevector" if name in ("exact", "ideal6", "table", "table+realized3") else "density")
    x, p = inputs(ne, c)
    pops_np, pops_jx = ne.populations(c, x, p), je.populations(c, x, p)
    n = c.n_qubits
    assert pops_jx.shape == (2, 4) + (D,) * n
    assert np.abs(pops_np - pops_jx).max() < TOL
    assert abs(pops_jx.sum(axis=tuple(range(2, 2 + n))) - 1).max() < 1e-12
    e_np, e_jx = ne.expect(c, x, p), je.expect(c, x, p)
    assert np.abs(e_np - e_jx).max() < TOL
    assert np.abs(e_np).max() > 0.1  # not a trivial state
    if name in ("table+realized3", "channel+realized"):  # states themselves (phases, coherences)
        assert np.abs(ne.final_state(c, x, p) - je.final_state(c, x, p)).max() < TOL


@pytest.mark.parametrize("name", ["table+realized3", "channel+depol3"])
def test_shift_jacobian_matches_numpy(jb, name):
    """The code-grid shift rule (2 m + 1 sets in one compiled run): same E0 and Jacobian."""
    c, ne, je = pair_of_executors(jb, name)
    x, p = inputs(ne, c, P=1)
    e0_np, jac_np = ne.shift_jacobian(c, x, p)
    e0_jx, jac_jx = je.shift_jacobian(c, x, p)
    assert jac_jx.shape == (c.n_params, 4, c.n_qubits)
    assert np.abs(e0_np - e0_jx).max() < TOL
    assert np.abs(jac_np - jac_jx).max() < TOL
    assert np.abs(jac_np).max() > 0.05


@pytest.mark.parametrize("name", ["exact", "ideal6"])
def test_autodiff_gradient_matches_numpy_adjoint(jb, name):
    """jax.vjp of the exact readout == the numpy adjoint sweep, for P = 2 parameter sets at once (and ==
    the shift rule); a callable cotangent (loss dL/d<Z> at the same forward) gives the same as an array."""
    c, ne, je = pair_of_executors(jb, name)
    x, p = inputs(ne, c)
    w = np.random.default_rng(4).normal(size=(2, 4, c.n_qubits))
    e_np, g_np = ne.adjoint_vjp(c, x, p, w)
    e_jx, g_jx = je.adjoint_vjp(c, x, p, w)
    assert g_jx.shape == (2, c.n_params)
    assert np.abs(e_np - e_jx).max() < TOL
    assert np.abs(g_np - g_jx).max() < TOL
    assert np.abs(g_np).max() > 0.05
    _, jac = ne.shift_jacobian(c, x, p[:1])  # exact for every parameter played once (not parameter 0)
    assert np.abs(np.einsum("mbn,bn->m", jac, w[0]) - g_jx[0])[1:].max() < TOL
    _, g_call = je.vjp(c, x, p, lambda e: w + 0 * e)
    assert np.abs(g_call - g_jx).max() < TOL
    assert np.abs(je.grad(c, x, p, w) - g_jx).max() < TOL


def test_autodiff_through_density_matrices(jb):
    """Exact rotations with a depolarizing CZ: the autodiff gradient in density mode == the shift rule
    (exact for these rotations), where numpy needs 2 m + 1 density runs or its Liouville adjoint."""
    c, ne, je = pair_of_executors(jb, "exact+depol")
    assert je.mode == "density" and je.can_adjoint
    x, p = inputs(ne, c, P=1)
    w = np.random.default_rng(5).normal(size=(1, 4, c.n_qubits))
    _, jac = ne.shift_jacobian(c, x, p)
    _, g = je.adjoint_vjp(c, x, p, w)
    assert np.abs(np.einsum("mbn,bn->m", jac, w[0]) - g[0])[1:].max() < TOL


def test_table_gradient_uses_the_shift_rule(jb):
    c, ne, je = pair_of_executors(jb, "table")
    x, p = inputs(ne, c, P=1)
    assert not je.can_adjoint
    with pytest.raises(CryoctlError, match="shift rule"):
        je.adjoint_vjp(c, x, p, 1.0)
    w = np.random.default_rng(6).normal(size=(1, 4, c.n_qubits))
    e, g = je.vjp(c, x, p, w)
    _, jac = ne.shift_jacobian(c, x, p)
    assert np.abs(g[0] - np.einsum("mbn,bn->m", jac, w[0])).max() < TOL


def test_finite_shots_draw_the_same_counts(jb):
    c, ne, je = pair_of_executors(jb, "table", readout=Readout(0.02, 0.05, shots=200))
    x, p = inputs(ne, c)
    a = ne.expect(c, x, p, np.random.default_rng(7))
    b = je.expect(c, x, p, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert np.all(np.abs(a * 200 - np.round(a * 200)) < 1e-9)  # counts / shots


def test_bad_inputs_are_refused(jb):
    c, _, je = pair_of_executors(jb, "table")
    with pytest.raises(CryoctlError) as exc:
        je.expect(c, np.zeros((2, c.n_inputs)), np.zeros((1, c.n_params)))  # float params on a quantized provider
    assert exc.value.field == "params"
    with pytest.raises(CryoctlError) as exc:
        je.expect(c, np.zeros((2, c.n_inputs)), np.full((1, c.n_params), 10**6, dtype=np.int64))
    assert exc.value.field == "code"


def test_qnn_training_is_the_same_on_both_backends(jb):
    """Two epochs of the stochastic (code) trainer on iris: the same codes, losses and accuracies."""
    from cryoctl.qnn import QNNModel, TrainConfig, load_dataset, train

    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    cfg = TrainConfig("stochastic", "adam", 0.05, 2, 16, 0)
    prov = IdealQuantizer(6, 2)
    res_np = train(model, ds, Executor(prov), cfg)
    res_jx = train(model, ds, jb.JaxExecutor(prov), cfg)
    assert np.array_equal(res_np.params, res_jx.params)
    for a, b in zip(res_np.history, res_jx.history):
        assert abs(a["loss"] - b["loss"]) < TOL and a["test_acc"] == b["test_acc"]


def test_from_executor_keeps_the_binding(jb):
    _, ne, _ = pair_of_executors(jb, "channel+realized")
    je = jb.JaxExecutor.from_executor(ne)
    assert (je.provider, je.entangler, je.readout, je.mode, je.label) == (ne.provider, ne.entangler, ne.readout,
                                                                           ne.mode, ne.label)


def test_missing_jax_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # import now raises ImportError
    monkeypatch.delitem(sys.modules, "cryoctl.circuit.jax_backend", raising=False)
    with pytest.raises(CryoctlError) as exc:
        importlib.import_module("cryoctl.circuit.jax_backend")
    assert "pip install cryoctl[jax]" in str(exc.value)
    assert exc.value.field == "backend"


@pytest.mark.parametrize("provider", ["exact", "table"])
def test_qnn_circuit_marginals_from_the_held_state(jb, provider):
    """compact16 on 4 qubits (every qubit in the last rotation block: all marginals read from the state before
    it, :func:`z_after_block_jax`): expect, the shift rule and the autodiff gradient equal numpy's; a circuit
    ending in a CZ with the realized entangler (no held block) takes the populations path."""
    from cryoctl.qnn import build_circuit

    c = build_circuit("compact16", 4)
    prov = ExactProvider(D) if provider == "exact" else TableProvider(exact_table(6, D, 4))
    ne = Executor(prov, entangler=IdealCZ(), readout=Readout(0.01, 0.03))
    je = jb.JaxExecutor.from_executor(ne)
    assert je._held(c) == (0, 1, 2, 3)
    rng = np.random.default_rng(9)
    x = rng.uniform(0, np.pi, (3, c.n_inputs))
    angles = rng.uniform(-np.pi, np.pi, (2, c.n_params))
    p = ne.encode_params(c, angles) if ne.quantized else angles
    assert np.abs(ne.expect(c, x, p) - je.expect(c, x, p)).max() < TOL
    e0n, jn = ne.shift_jacobian(c, x, p[:1])
    e0j, jj = je.shift_jacobian(c, x, p[:1])
    assert np.abs(e0n - e0j).max() < TOL and np.abs(jn - jj).max() < TOL
    if provider == "exact":
        w = rng.normal(size=(2, 3, 4))
        en, gn = ne.adjoint_vjp(c, x, p, w)
        ej, gj = je.adjoint_vjp(c, x, p, w)
        assert np.abs(en - ej).max() < TOL and np.abs(gn - gj).max() < TOL
