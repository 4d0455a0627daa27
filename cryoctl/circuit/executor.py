"""One circuit executor, bound once to (gate provider, entangler, readout, execution mode).

    ex = Executor(provider, entangler=IdealCZ(error=p), readout=Readout(p01, p10, shots))
    ex.populations(circuit, x, params)          # (P, B, d, ..., d)
    ex.expect(circuit, x, params, rng)          # <Z_q> read out: (P, B, n)
    ex.shift_jacobian(circuit, x, params, rng)  # parameter shift on the code grid
    ex.adjoint_vjp(circuit, x, params, weights)  # exact gradient of sum w <Z> (exact rotations)

Values. ``x`` (B, n_inputs) are data-encoding ANGLES: every data gate encodes its column once per call
through its own channel (``provider.encode(axis, qubit, x)``: DAC codes on hardware). ``params``
(P, n_params) are what the provider plays: integer codes on a quantized provider (trainers hold them;
:meth:`Executor.encode_params` turns float-trained angles into codes once), angles on
:class:`~cryoctl.circuit.providers.ExactProvider`. Floats given as codes are an error, not rounded.

Mode. Chosen once, at construction: density matrices when the provider gives channels or the
entangler is noisy, pure states otherwise (``mode="density"`` forces density matrices, e.g. to
cross-check; ``"statevector"`` with channels or a noisy entangler is an error). Both paths share one
preamble (:meth:`Executor._program`: shapes checked, data encoded, every rotation's operation looked
up) and differ only in how a fused single-qubit block and an entangler block act.

State layout. Two leading batch axes: parameter sets P and data samples B, so a parameter-shift
gradient (2 n_params + 1 parameter sets) over a mini-batch is ONE call. A pure state has shape
(P, B, d^n) (qubit 0 first); a density matrix (P, B, d^n, d^n).

Statevector. A single-qubit operation U on qubit q acts on the view (P, B, d^q, d, d^(n-q-1)) as the
batched matmul psi' = U @ psi over the d axis (U is (P, 1, d, d) for a parameter gate and (1, B, d, d)
for a data gate). Consecutive single-qubit gates on the same qubit are fused first, and the first
rotation block on |0...0> is built directly as the product state psi = (x)_q U_q[:, 0].

Density matrix. A superoperator S (row-major vec, S[(i,j),(k,l)], unitaries as kron(U, U*)) acts on
qubit q as rho'[.., i, .., j, ..] = sum_kl S[i,j,k,l] rho[.., k, .., l, ..] over the ket and bra axes
of q; the first block builds (x)_q S_q(|0><0|).

Entangler. ``IdealCZ`` (diagonal, optionally depolarizing) or ``RealizedCZ`` (the realized flux CZ of
every coupled pair: a unitary or a channel on the pair's two axes, :mod:`cryoctl.circuit.entangler`);
its levels must be the provider's. Populations of a diagonal entangler skip a trailing entangler
block: |psi_k|^2 and diag(rho) are invariant under diagonal phases (a realized CZ is not diagonal:
leakage and its off-diagonal errors change them, so its trailing block is played).

Adjoint gradient (exact rotations, no shots, unitary entangler): with psi the final state,
lambda = O psi for the diagonal observable O = sum_q w_q Z_q (Z_q = +1 on level 0, -1 on levels >= 1),
sweeping the blocks backwards (phi <- U^dag phi, lambda <- U^dag lambda), a gate U = exp(-i theta G/2)
contributes dE/dtheta = 2 Re <lambda| (-i G / 2) |phi> = Im <lambda| G |phi>. The gates of a block are
fused per qubit, U_q = u_k ... u_1; the derivative of gate j uses the generator moved to the end of
the block, G'_j = S_j G_j S_j^dag with S_j = u_k ... u_(j+1), so dE/dtheta_j = Im <lambda| G'_j |phi>
with phi, lambda after the block, = Im sum_ab G'_ab M_ab with the reduced transition matrix
M_ab = sum_rest conj(lambda_(..a..)) phi_(..b..). On the ideal quantizer the derivative is taken at
the grid angle c * step (d/dtheta, in rad).

Parameter shift on the code grid, all 2 m + 1 parameter sets in ONE batched run. For a gate
exp(-i theta G/2) with G^2 = 1 on the qubit block, E(theta) = a + b cos(theta) + c sin(theta), hence
for ANY shift s

    dE/dtheta = [E(theta + s) - E(theta - s)] / (2 sin s)                        (exact).

On a quantized provider the shift is a whole number of codes of the parameter's channel,
k = max(1, round((pi/2) / step)), and s = k * step is the nominal realized shift; shifted codes are
wrapped to playable words (``provider.wrap``). With the generalised denominator 2 sin s the rule stays
exact on ideal rotations even when pi/2 is not a whole number of codes; the textbook 2 (s = pi/2)
would bias every gradient by the factor sin(s). On emulated hardware (leakage, non-ideal transfer)
E(theta) is no longer a pure first harmonic and the rule is an approximation whose error is what the
hardware makes it. Float providers shift by s = pi/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoctl.circuit.description import Circuit, Rot
from cryoctl.circuit.entangler import IdealCZ
from cryoctl.circuit.readout import Readout, expect_z, z_exact
from cryoctl.circuit.simulate import apply_1q, apply_superop, circuit_blocks, product_density, product_state
from cryoctl.conventions import ROTATION_AXES, kron_conj
from cryoctl.errors import CryoctlError

MODES = ("auto", "statevector", "density")


@dataclass
class _Program:
    """A circuit bound to its inputs: blocks of ("rot", [(Rot, op), ...]) and ("cz", [(a, b), ...])."""

    n: int
    d: int
    P: int
    B: int
    blocks: list


class Executor:
    """Runs circuits on one provider with one entangler and one readout (see the module docstring)."""

    def __init__(self, provider, *, entangler=None, readout: Readout | None = None, mode: str = "auto"):
        if mode not in MODES:
            raise CryoctlError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}", field="mode")
        self.provider = provider
        self.entangler = entangler if entangler is not None else IdealCZ()
        self.readout = readout if readout is not None else Readout()
        levels = getattr(self.entangler, "levels", None)
        if levels is not None and levels != provider.levels:
            raise CryoctlError(f"the entangler acts on {levels} levels per qubit, the gate provider on "
                               f"{provider.levels}", field="levels")
        needs_density = provider.kind == "channel" or self.entangler.noisy
        if mode == "statevector" and needs_density:
            raise CryoctlError("statevector execution needs unitary gates and a noiseless entangler", field="mode")
        self.mode = ("density" if needs_density else "statevector") if mode == "auto" else mode

    @property
    def quantized(self) -> bool:
        return bool(self.provider.quantized)

    @property
    def label(self) -> str:
        return self.provider.label

    @property
    def can_adjoint(self) -> bool:
        """Exact rotations, pure states, exact expectations: the adjoint gradient applies."""
        return (bool(getattr(self.provider, "supports_adjoint", False)) and self.mode == "statevector"
                and self.readout.shots is None)

    # ------------------------------------------------------------------ parameters (code grids)
    @staticmethod
    def _channels(circuit: Circuit):
        return np.array(circuit.param_axes), np.array(circuit.param_qubits)

    def encode_params(self, circuit: Circuit, angles) -> np.ndarray:
        """Requested parameter angles (..., n_params) -> the values this provider plays (codes)."""
        angles = np.asarray(angles, dtype=float)
        if angles.shape[-1:] != (circuit.n_params,):
            raise CryoctlError(f"expected {circuit.n_params} parameter angles, got shape {angles.shape}",
                               field="params")
        return self.provider.encode_params(angles, *self._channels(circuit))

    def param_angles(self, circuit: Circuit, params) -> np.ndarray:
        """Calibrated angles of parameter values (codes -> measured angle per channel)."""
        return self.provider.param_angles(params, *self._channels(circuit))

    def param_steps(self, circuit: Circuit) -> np.ndarray | None:
        """Nominal angle of one code of each parameter's channel (None for float providers)."""
        return self.provider.param_steps(*self._channels(circuit)) if self.quantized else None

    def wrap_codes(self, circuit: Circuit, codes) -> np.ndarray:
        """Moved parameter codes -> equivalent playable words (per channel)."""
        return self.provider.wrap_codes(codes, *self._channels(circuit))

    def code_shift(self, circuit: Circuit):
        """(k codes (n_params,) int, realized shift s (n_params,)); float providers: (None, pi/2)."""
        if not self.quantized:
            return None, np.full(circuit.n_params, np.pi / 2)
        step = self.param_steps(circuit)
        k = np.maximum(1, np.round((np.pi / 2) / step)).astype(np.int64)
        s = k * step
        if np.any(np.abs(np.sin(s)) < 1e-9):
            raise CryoctlError("parameter shift impossible: the code shift is a multiple of pi (too few bits)",
                               field="bits")
        return k, s

    # ------------------------------------------------------------------ the shared preamble
    def _prepare(self, circuit: Circuit, x, params):
        """x -> (B, n_inputs) float angles; params -> (P, n_params) codes (int) or angles (float)."""
        x = np.zeros((1, 0)) if x is None else np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] < circuit.n_inputs:
            raise CryoctlError(f"expected at least {circuit.n_inputs} input features, got {x.shape[1]}", field="x")
        return x, self._prepare_params(circuit, params)

    def _prepare_params(self, circuit: Circuit, params) -> np.ndarray:
        params = np.zeros((1, 0), dtype=np.int64) if params is None else np.asarray(params)
        if params.ndim == 1:
            params = params[None, :]
        if params.shape[1] < circuit.n_params:
            raise CryoctlError(f"expected {circuit.n_params} parameters, got {params.shape[1]}", field="params")
        if not self.quantized:
            return params.astype(float)
        if params.size and not np.issubdtype(params.dtype, np.integer):
            raise CryoctlError(f"{self.label} plays integer codes, got {params.dtype} parameters; encode "
                               "angles once with Executor.encode_params", field="params")
        return params.astype(np.int64)

    def _block_ops(self, block: list[Rot], x, params) -> list[np.ndarray]:
        """Operations of every rotation in a block, shaped (P,1,..) (parameter) / (1,B,..) (data).

        Providers whose gates do not depend on the qubit (``qubit_independent``) are called once per
        (axis, source) with the block's columns stacked, instead of once per gate.
        """
        prov = self.provider
        if not prov.qubit_independent:
            return [prov.ops(g.axis, g.qubit, params[:, g.index])[:, None] if g.source == "p" else
                    prov.ops(g.axis, g.qubit, prov.encode(g.axis, g.qubit, x[:, g.index]))[None, :]
                    for g in block]
        out: list = [None] * len(block)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, g in enumerate(block):
            groups.setdefault((g.axis, g.source), []).append(i)
        for (axis, src), members in groups.items():
            cols = [block[i].index for i in members]
            if src == "p":
                ops = prov.ops(axis, 0, params[:, cols])[:, None]  # (P, 1, k, d, d)
            else:
                ops = prov.ops(axis, 0, prov.encode(axis, 0, x[:, cols]))[None, :]  # (1, B, k, d, d)
            for j, i in enumerate(members):
                out[i] = ops[:, :, j]
        return out

    def _program(self, circuit: Circuit, x, params) -> _Program:
        x, params = self._prepare(circuit, x, params)
        blocks = [(kind, list(zip(items, self._block_ops(items, x, params))) if kind == "rot" else items)
                  for kind, items in circuit_blocks(circuit)]
        return _Program(circuit.n_qubits, self.provider.levels, params.shape[0], x.shape[0], blocks)

    def _fuse(self, items, superop: bool) -> dict[int, np.ndarray]:
        """Per qubit, the product u_k ... u_1 of the block's operations (superoperators if asked)."""
        fused: dict[int, np.ndarray] = {}
        d = self.provider.levels
        for g, op in items:
            if superop and op.shape[-1] == d:
                op = kron_conj(op)
            fused[g.qubit] = op if g.qubit not in fused else op @ fused[g.qubit]
        return fused

    def _blocks_for(self, prog: _Program, populations_only: bool) -> list:
        blocks = list(prog.blocks)
        if populations_only and getattr(self.entangler, "diagonal", False):
            while blocks and blocks[-1][0] == "cz":
                blocks.pop()
        return blocks

    # ------------------------------------------------------------------ the two paths
    def _statevector(self, prog: _Program, populations_only: bool = False) -> np.ndarray:
        n, d, P, B = prog.n, prog.d, prog.P, prog.B
        psi = None
        for kind, items in self._blocks_for(prog, populations_only):
            if kind == "rot":
                fused = self._fuse(items, superop=False)
                if psi is None:
                    psi = product_state(fused, n, d, P, B)
                else:
                    for q, u in fused.items():
                        psi = apply_1q(psi, u, q, n, d)
            else:
                if psi is None:
                    psi = product_state({}, n, d, P, B)
                psi = self.entangler.apply_state(psi, items, n, d)
        return product_state({}, n, d, P, B) if psi is None else psi

    def _density(self, prog: _Program, populations_only: bool = False) -> np.ndarray:
        n, d, P, B = prog.n, prog.d, prog.P, prog.B
        rho = None
        for kind, items in self._blocks_for(prog, populations_only):
            if kind == "rot":
                fused = self._fuse(items, superop=True)
                if rho is None:
                    rho = product_density(fused, n, d, P, B)
                else:
                    for q, s in fused.items():
                        rho = apply_superop(rho, s, q, n, d)
            else:
                if rho is None:
                    rho = product_density({}, n, d, P, B)
                rho = self.entangler.apply_density(rho, items, n, d)
        return product_density({}, n, d, P, B) if rho is None else rho

    # ------------------------------------------------------------------ results
    def final_state(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        """Pure states (P, B, d, ..., d) in statevector mode, density matrices (P, B, d^n, d^n) otherwise."""
        prog = self._program(circuit, x, params)
        if self.mode == "statevector":
            return self._statevector(prog).reshape((prog.P, prog.B) + (prog.d,) * prog.n)
        return self._density(prog)

    def populations(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        """Level populations (P, B, d, ..., d), real."""
        prog = self._program(circuit, x, params)
        if self.mode == "statevector":
            psi = self._statevector(prog, populations_only=True)
            pops = psi.real**2 + psi.imag**2
        else:
            pops = np.diagonal(self._density(prog, populations_only=True), axis1=-2, axis2=-1).real
        return pops.reshape((prog.P, prog.B) + (prog.d,) * prog.n)

    def expect(self, circuit: Circuit, x=None, params=None, rng: np.random.Generator | None = None) -> np.ndarray:
        """<Z_q> read out (assignment errors, shots) for every parameter set and sample: (P, B, n)."""
        return expect_z(self.populations(circuit, x, params), circuit.n_qubits, self.readout, rng)

    def shift_jacobian(self, circuit: Circuit, x, params, rng: np.random.Generator | None = None):
        """(E0 (B, n), J (n_params, B, n)) for ONE parameter set, by the (generalised) shift rule."""
        params = self._prepare_params(circuit, params)
        if params.shape[0] != 1:
            raise CryoctlError(f"expected one parameter set, got {params.shape[0]}", field="params")
        params = params[0, : circuit.n_params]
        m = params.size
        k, s = self.code_shift(circuit)
        shifted = np.repeat(params[None, :], 2 * m + 1, axis=0)
        idx = np.arange(m)
        move = k if self.quantized else s
        shifted[1 + idx, idx] += move
        shifted[1 + m + idx, idx] -= move
        if self.quantized:
            shifted = self.wrap_codes(circuit, shifted)
        e = self.expect(circuit, x, shifted, rng)
        jac = (e[1: 1 + m] - e[1 + m:]) / (2 * np.sin(s))[:, None, None]
        return e[0], jac

    def adjoint_vjp(self, circuit: Circuit, x, params, weights):
        """(E, grad): E = <Z_q> read out exactly (P, B, n); grad (P, n_params) of sum w * E (module docstring)."""
        if not self.can_adjoint:
            raise CryoctlError("the adjoint gradient needs exact (or ideally quantized) unitary rotations, a "
                               "noiseless entangler and exact expectations (shots = none)", field="gradient")
        prog = self._program(circuit, x, params)
        n, d, P, B = prog.n, prog.d, prog.P, prog.B
        gens = {a: self.provider.generator(a) for a in ROTATION_AXES}
        psi = product_state({}, n, d, P, B)
        record = []  # per block: ("cz", pairs) or ("rot", {q: (U_q, [(param index, G'), ...])})
        for kind, items in prog.blocks:
            if kind == "cz":
                psi = self.entangler.apply_state(psi, items, n, d)
                record.append(("cz", items))
                continue
            per_q: dict[int, list] = {}
            for g, u in items:
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
        ro = self.readout
        pops = (psi.real**2 + psi.imag**2).reshape((P, B) + (d,) * n)
        e = (ro.p10 - ro.p01) + ro.gain * z_exact(pops, n)
        w = np.broadcast_to(np.asarray(weights, dtype=float), (P, B, n)) * ro.gain
        zl = -np.ones(d)
        zl[0] = 1.0
        obs = np.zeros((P, B) + (d,) * n)
        for q in range(n):
            shape = [1] * n
            shape[q] = d
            obs = obs + w[:, :, q].reshape((P, B) + (1,) * n) * zl.reshape(shape)
        lam = psi * obs.reshape(P, B, d**n)
        grad = np.zeros((P, circuit.n_params))
        for bi in range(len(record) - 1, -1, -1):
            kind, rec = record[bi]
            if kind == "cz":
                psi = self.entangler.undo_state(psi, rec, n, d)
                lam = self.entangler.undo_state(lam, rec, n, d)
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
