"""Z expectations and their gradients for batches of inputs and parameter sets.

- :func:`expect`: (P parameter sets) x (B samples) -> <Z_q> of shape (P, B, n) in one batched run.
- :func:`adjoint_vjp`: exact gradient of sum_{p,b,q} w[p,b,q] <Z_q> w.r.t. every parameter by the
  adjoint method (one forward, one backward sweep of the pure state). With psi the final state,
  lambda = O psi for the diagonal observable O = sum_q w_q Z_q (Z_q = +1 on level 0, -1 on levels >= 1),
  sweeping the gates backwards (phi <- U^dag phi, lambda <- U^dag lambda), a gate U = exp(-i theta G/2)
  with phi the state just after it contributes

      dE/dtheta = 2 Re <lambda| (-i G / 2) |phi> = Im <lambda| G |phi>.

  Valid for exact rotations (ExactProvider, and IdealQuantizer at its realized grid angles).
- :func:`shift_jacobian`: parameter-shift on the code grid, all 2 n_params + 1 parameter sets in ONE
  batched call. For a gate exp(-i theta G/2) with G^2 = 1 on the qubit block,
  E(theta) = a + b cos(theta) + c sin(theta), hence for ANY shift s

      dE/dtheta = [E(theta + s) - E(theta - s)] / (2 sin s)                        (exact).

  On a quantized provider the shift must be a whole number of codes, k = round((pi/2)/angle_per_code),
  and s = k * angle_per_code is the nominal realized shift. With the generalised denominator 2 sin s the
  rule stays exact on ideal rotations even when pi/2 is not a whole number of codes (a pi pulse below
  full scale); using the textbook 2 (i.e. assuming s = pi/2) would bias every gradient by the factor
  sin(s), i.e. a relative error 1 - sin(s) ~ (s - pi/2)^2 / 2. On emulated hardware (leakage,
  non-ideal transfer) E(theta) is no longer a pure first harmonic and the rule is an approximation
  whose error is what the hardware makes it.
"""

from __future__ import annotations

import numpy as np

from cryoctl.circuit.description import Circuit
from cryoctl.circuit.ops import cz_diagonal
from cryoctl.circuit.readout import Readout, expect_z, z_exact
from cryoctl.circuit.simulate import _blocks, _prepare, apply_1q, block_ops, populations
from cryoctl.errors import CryoctlError


def expect(circuit: Circuit, provider, x=None, params=None, *, readout: Readout | None = None,
           cz_error: float = 0.0, mode: str = "auto", rng: np.random.Generator | None = None) -> np.ndarray:
    """<Z_q> read out (assignment errors, shots) for every parameter set and sample: (P, B, n)."""
    pops = populations(circuit, provider, x, params, mode=mode, cz_error=cz_error)
    return expect_z(pops, circuit.n_qubits, readout, rng)


def _level_z(d: int) -> np.ndarray:
    z = -np.ones(d)
    z[0] = 1.0
    return z


def adjoint_vjp(circuit: Circuit, provider, x, params, weights, *, readout: Readout | None = None):
    """(E, grad): E = <Z_q> read out exactly (P, B, n); grad (P, n_params) of sum w * E.

    Block-fused: the single-qubit gates of a block are fused per qubit, U_q = u_k ... u_1, so the
    backward sweep undoes one matrix per qubit and block. The derivative of gate j inside U_q uses the
    generator moved to the end of the block, G'_j = S_j G_j S_j^dag with S_j = u_k ... u_(j+1):
    dU_q/dtheta_j = (-i/2) G'_j U_q, hence dE/dtheta_j = Im <lambda| G'_j |phi> with phi, lambda taken
    after the block, and <lambda|G'|phi> = sum_ab G'_ab M_ab with the reduced transition matrix
    M_ab = sum_rest conj(lambda_(..a..)) phi_(..b..) (gates on other qubits commute with G').
    """
    if not getattr(provider, "supports_adjoint", False) or provider.kind != "unitary":
        raise CryoctlError("the adjoint gradient needs exact (or ideally quantized) unitary rotations",
                           field="gradient")
    readout = readout or Readout()
    if readout.shots is not None:
        raise CryoctlError("the adjoint gradient needs exact expectations (shots = none)", field="shots")
    x, params = _prepare(circuit, x, params)
    n, d = circuit.n_qubits, provider.levels
    P, B = params.shape[0], x.shape[0]
    D = d**n
    gens = {a: provider.generator(a) for a in ("x", "y", "z")}
    psi = np.zeros((P, B, D), dtype=np.complex128)
    psi[:, :, 0] = 1.0
    record = []  # per block: ("cz", diag) or ("rot", {q: (U_q, [(param index, G'), ...])})
    for kind, items in _blocks(circuit):
        if kind == "cz":
            diag = cz_diagonal(items, n, d).reshape(-1)
            psi = psi * diag
            record.append(("cz", diag))
            continue
        per_q: dict[int, list] = {}
        for g, u in zip(items, block_ops(items, provider, x, params)):
            per_q.setdefault(g.qubit, []).append((g, u))
        fused = {}
        for q, seq in per_q.items():
            suffix = None  # S_j = u_k ... u_(j+1), built from the last gate backwards
            derivs = []
            for g, u in reversed(seq):
                if g.source == "p":
                    gj = gens[g.axis]
                    gp = gj[None, None] if suffix is None else suffix @ gj @ np.conj(np.swapaxes(suffix, -1, -2))
                    derivs.append((g.index, gp))
                suffix = u if suffix is None else suffix @ u
            fused[q] = (suffix, derivs)
            psi = apply_1q(psi, suffix, q, n, d)
        record.append(("rot", fused))
    pops = (psi.real**2 + psi.imag**2).reshape((P, B) + (d,) * n)
    e = (readout.p10 - readout.p01) + readout.gain * z_exact(pops, n)
    w = np.broadcast_to(np.asarray(weights, dtype=float), (P, B, n)) * readout.gain
    zl = _level_z(d)
    obs = np.zeros((P, B) + (d,) * n)
    for q in range(n):
        shape = [1] * n
        shape[q] = d
        obs = obs + w[:, :, q].reshape((P, B) + (1,) * n) * zl.reshape(shape)
    lam = psi * obs.reshape(P, B, D)
    grad = np.zeros((P, circuit.n_params))
    for bi in range(len(record) - 1, -1, -1):
        kind, rec = record[bi]
        if kind == "cz":
            psi, lam = psi * rec, lam * rec
            continue
        for q, (u, derivs) in rec.items():
            if derivs:
                lv = lam.reshape(P, B, d**q, d, -1)
                pv = psi.reshape(P, B, d**q, d, -1)
                m = np.einsum("pblar,pblcr->pbac", lv.conj(), pv)
                for idx, gp in derivs:
                    grad[:, idx] += np.einsum("pbac,pbac->p", np.broadcast_to(gp, m.shape), m).imag
            if bi > 0:  # nothing left to undo before the first block
                udag = np.conj(np.swapaxes(u, -1, -2))
                psi = apply_1q(psi, udag, q, n, d)
                lam = apply_1q(lam, udag, q, n, d)
    return e, grad


def code_shift(provider, axes=None):
    """(k codes, realized shift s): k = round((pi/2)/step) (>= 1); float providers: (None, pi/2).

    Without ``axes`` the step is the drive grid ``angle_per_code`` and k, s are scalars; with the
    parameters' ``axes`` each parameter gets the shift of its own grid (phase words for RZ).
    """
    if not provider.quantized:
        return None, np.pi / 2
    step = provider.angle_per_code if axes is None else provider.param_steps(axes)
    k = np.maximum(1, np.round((np.pi / 2) / np.asarray(step))).astype(np.int64)
    s = k * step
    if axes is None:
        k, s = int(k), float(s)
    if np.any(np.abs(np.sin(s)) < 1e-9):
        raise CryoctlError("parameter shift impossible: the code shift is a multiple of pi (too few bits)",
                           field="bits")
    return k, s


def shift_jacobian(circuit: Circuit, provider, x, params, *, readout: Readout | None = None,
                   cz_error: float = 0.0, mode: str = "auto", rng: np.random.Generator | None = None):
    """(E0 (B, n), J (n_params, B, n)) for ONE parameter set, by the (generalised) shift rule."""
    params = np.asarray(params, dtype=float).reshape(-1)
    m = params.size
    _, s = code_shift(provider, circuit.param_axes)
    s = np.broadcast_to(s, (m,))
    shifted = np.repeat(params[None, :], 2 * m + 1, axis=0)
    idx = np.arange(m)
    shifted[1 + idx, idx] += s
    shifted[1 + m + idx, idx] -= s
    e = expect(circuit, provider, x, shifted, readout=readout, cz_error=cz_error, mode=mode, rng=rng)
    jac = (e[1: 1 + m] - e[1 + m:]) / (2 * np.sin(s))[:, None, None]
    return e[0], jac
