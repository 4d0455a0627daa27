"""One circuit executor, bound once to (gate provider, entangler, readout, execution mode).

    ex = Executor(provider, entangler=IdealCZ(error=p), readout=Readout(p01, p10, shots))
    ex.populations(circuit, x, params)          # (P, B, d, ..., d)
    ex.expect(circuit, x, params, rng)          # <Z_q> read out: (P, B, n)
    ex.shift_jacobian(circuit, x, params, rng)  # parameter shift on the code grid (the reference path)
    ex.adjoint_vjp(circuit, x, params, weights)  # exact gradient of sum w <Z> (exact rotations, pure states)
    ex.density_vjp(circuit, x, params, weights)  # the same numbers as the shift path, through channels
    ex.vjp(circuit, x, params, weights)          # whichever adjoint applies

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
of q; the first block builds (x)_q S_q(|0><0|). Internally the register is held in the pair layout
of :mod:`cryoctl.circuit.simulate` (ket and bra index of every qubit adjacent), where S on q is one
batched matmul without transposed copies; ideal CZ blocks (with depolarizing) act there directly, a
realized CZ on the pair's four axes, any other entangler through a standard-layout round trip.
Populations: with the ideal CZ the last rotation block and the CZ blocks after it act on populations
only (the diagonal after S_q needs only S_q's d diagonal rows; the depolarizing maps populations to
populations), so the tail costs about a third of one superoperator.

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

Coarse channels (:meth:`Executor.shift_rule`). When |sin(k step)| < SIN_MIN = 1/2 -- only for
|step| > 5 pi / 6, i.e. a pi code of 1: 1- and 2-bit drive DACs, whose Rabi scan has a single positive
code, and the 1-bit ideal quantizer -- every whole-code shift is (nominally) a multiple of pi and the
rule divides by ~0. Those parameters use k = 1 and the denominator 2 step:

    g = [E(c + 1) - E(c - 1)] / (2 step),

the central slope of E interpolated linearly between neighbouring codes. That interpolation is the
expectation of the parameter played as a mixture of its two codes (the channel (1 - t) S(c) + t S(c+1),
what stochastic rounding plays on average), so g * step * u is the first-order change of the loss for a
move of u codes, the quantity the code-moving trainers act on (u = delta / step). A tangent derivative
would not help: on a grid of two or four codes no trainer can move by less than a code. Where c + 1 and
c - 1 wrap onto the same code (a 1-bit channel: two codes) g = 0: on a two-point circle both moves are
the same move and no gradient can carry a direction. Measured angles are not used here: the trainers
move in nominal codes with the provider's wrap, and the slope must describe those moves.

Adjoint gradient through channels (:meth:`Executor.density_vjp`; density matrices, exact readout,
ideal or realized CZ). The expectation is linear in every operation: with the pairing <l, r> =
sum_ij l_ij r_ij and l = vec(L^T) for an observable L, Tr(L S(rho)) = <S^T l, rho>, so an observable is
propagated backwards by the transposed superoperators (S^T on the pair axes of q; a unitary CZ as
U^T . conj(U), a channel CZ as S^T on its four axes; the ideal CZ with depolarizing is self-dual and is
applied in reverse pair order). One forward sweep keeps rho_k, the state before the fused operation of
the qubit of parameter gate k; one backward sweep from Lambda = sum_q w_q gain Z_q gives Lambda_k
after it. Per gate (Pre_k, Suf_k: the gates of the same qubit before and after it in the block)

    dE/dtheta_k = <Lambda_k| Suf_k (S_k(c + k_shift) - S_k(c - k_shift)) Pre_k |rho_k> / denominator_k

with exactly the shifted gates and denominators of :meth:`shift_jacobian` (so both paths give the same
numbers to rounding: linearity in S_k), evaluated as sum_ac M_ac X_ac with the reduced transition matrix
M = sum_rest Lambda_k[.., a, ..] rho_k[.., c, ..] (:func:`~cryoctl.circuit.simulate.reduced_pairs`; in
the first block rho_k is a product state and M = L_q (x) vec|0><0|). Float providers use the analytic
derivative d kron(U, U*) = kron(dU, U*) + kron(U, dU*), dU = -i G U / 2 (exact on d levels, where the
shift rule is not: leakage coherences put theta / 2 harmonics into E). With the ideal CZ the trailing
blocks act on populations forwards and on the (still diagonal) observable backwards. Cost: about three
density-matrix passes per operation instead of 2 m + 1 full runs; measured on cryo_cmos_6bit, compact16,
batch 256: 0.6 s vs 11 s when first measured, 0.05 s vs 0.97 s with observable batching on an idle machine
(benchmarks/bench_qnn_forward.py).

Observable batching: when only the first block depends on the sample (the QNN ansatze: data encoding, then
parameter layers), everything after it is ONE linear map C for all B samples, and with n qubits < B the sweeps
carry n registers instead of B. The readout observables Z_q go backwards through C once (Lambda_q), <Z_q>_b =
<Lambda_q, rho_b> on the B product states rho_b of the first block (one gemm); the gradient's weighted states
R_q = sum_b w_bq rho_b go forwards through C, and sum_b M_b = sum_q reduced(Lambda_q, R_q) at every parameter
gate (bilinearity); the first block takes Lambda_b = sum_q w_bq Lambda_q per sample. :meth:`Executor.expect`
uses the backward half for exact expectations of one parameter set. On 4 qubits, d = 3, 16 samples a training
step costs ~40 %, and an evaluation of 504 samples ~10 %, of the per-sample sweeps; the numbers agree to
round-off (tested; <= 2e-13 through realized channels). The line search's backward observables broadcast over
the samples the same way (its per-sample forward states stay: the loss of each candidate needs every sample).

Quantum trajectories were not used: they give the gradient only to a sampling error ~1/sqrt(trajectories),
while this sweep is exact at a cost already within a few times the 2-level statevector reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoctl.circuit.description import Circuit, Rot
from cryoctl.circuit.entangler import IdealCZ, RealizedCZ
from cryoctl.circuit.readout import Readout, expect_z, z_exact
from cryoctl.circuit.simulate import (
    apply_1q, apply_on_axes, apply_superop_pairs, circuit_blocks, contract_except, cz_pairs, cz_populations,
    pair_diagonal, pair_layout, product_pairs, product_state, reduced_pairs, small_matmul, standard_layout,
    superops_to_populations, weighted_sum,
)
from cryoctl.conventions import ROTATION_AXES, kron_conj
from cryoctl.errors import CryoctlError

MODES = ("auto", "statevector", "density")
SIN_MIN = 0.5  # |sin s| below this: the whole-code shift rule is ill-conditioned, use the code difference


@dataclass
class _Program:
    """A circuit bound to its inputs: blocks of ("rot", [(Rot, op), ...]) and ("cz", [(a, b), ...])."""

    n: int
    d: int
    P: int
    B: int
    blocks: list


#: product states per chunk of :meth:`Executor.expect`'s observable batching (bytes)
PRODUCT_CHUNK_BYTES = 4 * 2**20
#: :meth:`Executor.expect` batches observables when their n registers take at most this many bytes (a fixed
#: bound, not the free memory: which path runs, hence the round-off, must not depend on the machine)
OBSERVABLE_BATCH_BYTES = 2**28


class Executor:
    """Runs circuits on one provider with one entangler and one readout (see the module docstring)."""

    def __init__(self, provider, *, entangler=None, readout: Readout | None = None, mode: str = "auto"):
        if mode not in MODES:
            raise CryoctlError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}", field="mode")
        self.provider = provider
        self._steps_cache: dict[Circuit, np.ndarray] = {}
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

    def _steps_of(self, circuit: Circuit) -> np.ndarray:
        """The provider's step per parameter of ``circuit``, computed once per circuit (the provider is fixed
        at construction): trainers ask for it per coordinate and per gradient."""
        if circuit not in self._steps_cache:
            steps = np.asarray(self.provider.param_steps(*self._channels(circuit)), dtype=float)
            steps.setflags(write=False)
            self._steps_cache[circuit] = steps
        return self._steps_cache[circuit]

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
        return self._steps_of(circuit) if self.quantized else None

    def wrap_codes(self, circuit: Circuit, codes) -> np.ndarray:
        """Moved parameter codes -> equivalent playable words (per channel)."""
        return self.provider.wrap_codes(codes, *self._channels(circuit))

    def code_shift(self, circuit: Circuit):
        """(k codes (n_params,) int, realized shift s (n_params,)); float providers: (None, pi/2).

        k = max(1, round((pi/2) / |step|)) with the sign of the step. A channel so coarse that
        |sin(k step)| < SIN_MIN (|step| > 5 pi / 6: a pi code of 1, i.e. 1- and 2-bit drive DACs, the
        1-bit ideal quantizer) has no whole-code shift with a usable sine: its parameters use the
        code difference k = 1 (:meth:`shift_rule`), and s = step is returned for them.
        """
        if not self.quantized:
            return None, np.full(circuit.n_params, np.pi / 2)
        step = self.param_steps(circuit)
        k = np.maximum(1, np.round((np.pi / 2) / np.abs(step))).astype(np.int64)
        coarse = np.abs(np.sin(k * step)) < SIN_MIN
        k = np.where(coarse, 1, k)
        return k, k * step

    def shift_rule(self, circuit: Circuit):
        """(move (n_params,), denominator (n_params,)): dE/dtheta ~ [E(+move) - E(-move)] / denominator.

        Float providers: move pi/2 rad, denominator 2 (exact). Quantized providers: move k whole codes
        (:meth:`code_shift`); the denominator is 2 sin(s) (generalised shift rule, exact on ideal
        rotations) where |sin s| >= SIN_MIN, else 2 step: the central difference of the loss
        interpolated linearly between codes, in rad^-1 of the nominal grid. That interpolation is the
        loss of a parameter played as a mixture of its two neighbouring codes (what stochastic rounding
        plays on average), so this slope times a move of u codes is the first-order loss change the
        code-moving trainer sees (u = delta / step). Where both neighbours wrap onto the same code (a
        two-code channel: 1 bit) the difference is 0: on a two-point circle of codes +1 and -1 are the
        same move and no gradient can carry a direction.
        """
        k, s = self.code_shift(circuit)
        if not self.quantized:
            return s, np.full(circuit.n_params, 2.0)
        step = self.param_steps(circuit)
        sin = np.sin(s)
        coarse = np.abs(sin) < SIN_MIN
        return k, np.where(coarse, 2 * step, 2 * sin)

    def _shifted_params(self, circuit: Circuit, params: np.ndarray, sign: int) -> np.ndarray:
        """Every parameter moved by +-(its shift) at once: (P, n_params) codes (wrapped) or angles."""
        move, _ = self.shift_rule(circuit)
        out = params[:, : circuit.n_params] + sign * move
        return self.wrap_codes(circuit, out) if self.quantized else out

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
            fused[g.qubit] = op if g.qubit not in fused else small_matmul(op, fused[g.qubit])
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

    def _density_populations(self, prog: _Program) -> np.ndarray:
        """Level populations (P, B, d^n) of the density path. With the ideal CZ (noisy or not) the last
        rotation block and the CZ blocks after it act on populations only
        (:func:`~cryoctl.circuit.simulate.superops_to_populations`, ``cz_populations``); a realized CZ
        needs the full register to the end."""
        n, d = prog.n, prog.d
        blocks = self._blocks_for(prog, True)
        last = max((i for i, (kind, _) in enumerate(blocks) if kind == "rot"), default=0)
        if not isinstance(self.entangler, IdealCZ) or last == 0:
            return self._density(prog, True)[:, :, pair_diagonal(n, d)].real
        pops = superops_to_populations(self._density(prog, blocks=blocks[:last]),
                                       self._fuse(blocks[last][1], superop=True), n, d)
        for _, pairs in blocks[last + 1:]:
            pops = cz_populations(pops, pairs, float(self.entangler.error), n, d)
        return pops

    def _density(self, prog: _Program, populations_only: bool = False, record: list | None = None,
                 blocks: list | None = None) -> np.ndarray:
        """The density path in pair layout (:mod:`cryoctl.circuit.simulate`): (P, B, (d^2)^n).

        ``record`` (the adjoint gradient): per block, ("cz", pairs), ("first", fused superoperators of
        the first block, played on |0...0> as a product state) or ("rot", [(q, S_q, state before S_q),
        ...]) in the order the fused per-qubit superoperators were applied. ``blocks``: a prefix of
        the program's blocks to run instead of all of them."""
        n, d, P, B = prog.n, prog.d, prog.P, prog.B
        r = None
        for kind, items in (self._blocks_for(prog, populations_only) if blocks is None else blocks):
            if kind == "rot":
                fused = self._fuse(items, superop=True)
                if r is None:  # the first block on |0...0>: a product state
                    r = product_pairs(fused, n, d, P, B)
                    if record is not None:
                        record.append(("first", fused))
                    continue
                seq = []
                needed = {g.qubit for g, _ in items if g.source == "p"} if record is not None else set()
                for q, sq in fused.items():
                    seq.append((q, sq, r if q in needed else None))
                    r = apply_superop_pairs(r, sq, q, n, d)
                if record is not None:
                    record.append(("rot", seq))
            else:
                if r is None:
                    r = product_pairs({}, n, d, P, B)
                r = self._entangle_pairs(r, items, n, d)
                if record is not None:
                    record.append(("cz", items))
        return product_pairs({}, n, d, P, B) if r is None else r

    # ------------------------------------------------------------------ entanglers in pair layout
    @property
    def _entangler_dual(self) -> bool:
        """Entanglers whose backward (Heisenberg) map the executor applies: ideal and realized CZ."""
        return isinstance(self.entangler, (IdealCZ, RealizedCZ))

    def _entangle_pairs(self, r: np.ndarray, pairs, n: int, d: int, dual: bool = False) -> np.ndarray:
        """The entangler block on a pair-layout register; ``dual``: its transpose under <l, r> = sum l r,
        the backward map of the adjoint, applied in reverse pair order (module docstring)."""
        ent = self.entangler
        P, B = r.shape[:2]
        if isinstance(ent, IdealCZ):
            return cz_pairs(r, list(pairs)[::-1] if dual else pairs, float(ent.error), n, d)
        if isinstance(ent, RealizedCZ):
            t = r.reshape((P, B) + (d,) * (2 * n))  # (.., ket q at 2 + 2q, bra q at 3 + 2q, ..)
            for a, b in (list(pairs)[::-1] if dual else pairs):
                po = ent.pair(a, b)
                op = po.operation
                ket = [2 + 2 * q for q in po.qubits]
                bra = [3 + 2 * q for q in po.qubits]
                if ent.noisy:
                    t = apply_on_axes(t, op.T if dual else op, ket + bra)
                elif dual:  # l -> U^T l conj(U): U^T on the ket axes, U^dag on the bra axes
                    t = apply_on_axes(apply_on_axes(t, op.T, ket), np.conj(op).T, bra)
                else:
                    t = apply_on_axes(apply_on_axes(t, op, ket), np.conj(op), bra)
            return t.reshape(P, B, -1)
        if dual:
            raise CryoctlError(f"no backward map for the entangler {ent.label!r}", field="gradient")
        return pair_layout(ent.apply_density(standard_layout(r, n, d), pairs, n, d), n, d)

    # ------------------------------------------------------------------ observable batching
    @staticmethod
    def _shared_after_first(blocks: list) -> bool:
        """The first block rotates and every block after it is the same map for all samples (no data)."""
        return bool(blocks) and blocks[0][0] == "rot" and all(
            kind == "cz" or all(op.shape[1] == 1 for _, op in items) for kind, items in blocks[1:])

    def _diagonal_start(self, lam_diag: np.ndarray, blocks: list, n: int, d: int) -> np.ndarray:
        """Diagonal observables (P|1, B|n, d^n) at the end of the circuit (l = vec(L^T) = L) -> pair-layout
        registers where the backward sweep starts: with the ideal CZ after the last rotation block (a
        diagonal observable stays diagonal backwards through ideal CZs: self-dual, cz_populations), else at
        the end."""
        last = max((i for i, (kind, _) in enumerate(blocks) if kind == "rot"), default=0)
        if isinstance(self.entangler, IdealCZ) and last > 0:
            for _, pairs in blocks[:last:-1]:
                lam_diag = cz_populations(lam_diag, list(pairs)[::-1], float(self.entangler.error), n, d)
        lam = np.zeros(lam_diag.shape[:2] + ((d * d) ** n,), dtype=np.complex128)
        lam[:, :, pair_diagonal(n, d)] = lam_diag
        return lam

    def _observables_back(self, blocks: list, n: int, d: int, keep: bool = False):
        """(Lambda (P|1, n, (d^2)^n), after): the n gain-free readout observables Z_q carried backwards from
        the end to just after the first block (blocks :meth:`_shared_after_first`); ``keep``: ``after``
        maps (block, qubit) of every parameter operation to Lambda just after it (else empty)."""
        last = max((i for i, (kind, _) in enumerate(blocks) if kind == "rot"), default=0)
        tail = isinstance(self.entangler, IdealCZ) and last > 0
        lam = self._diagonal_start(self._z_levels(n, d).reshape(1, n, -1), blocks, n, d)
        after: dict[tuple[int, int], np.ndarray] = {}
        for bi in range(last if tail else len(blocks) - 1, 0, -1):
            kind, items = blocks[bi]
            if kind == "cz":
                lam = self._entangle_pairs(lam, items, n, d, dual=True)
                continue
            needed = {g.qubit for g, _ in items if g.source == "p"} if keep else set()
            fused = self._fuse(items, superop=True)
            for q in reversed(list(fused)):
                if q in needed:
                    after[(bi, q)] = lam
                lam = apply_superop_pairs(lam, np.swapaxes(fused[q], -1, -2), q, n, d)
        return lam, after

    def _expect_by_observables(self, prog: _Program) -> np.ndarray:
        """<Z_q> read out exactly (P, B, n) as <Lambda_q, rho_b>: the n observables carried back to the first
        block's product states, which are built in chunks of PRODUCT_CHUNK_BYTES (one gemm each)."""
        n, d, P, B = prog.n, prog.d, prog.P, prog.B
        blocks = self._blocks_for(prog, True)
        lam, _ = self._observables_back(blocks, n, d)
        fused0 = self._fuse(blocks[0][1], superop=True)
        size = (d * d) ** n
        b = max(1, PRODUCT_CHUNK_BYTES // (16 * size * P))
        z = np.empty((P, B, n))
        for lo in range(0, B, b):
            part = {q: f if f.shape[1] == 1 else f[:, lo: lo + b] for q, f in fused0.items()}
            rho0 = product_pairs(part, n, d, P, min(b, B - lo))
            z[:, lo: lo + b] = (rho0 @ np.swapaxes(lam, -1, -2)).real
        ro = self.readout
        return (ro.p10 - ro.p01) + ro.gain * z

    # ------------------------------------------------------------------ results
    def final_state(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        """Pure states (P, B, d, ..., d) in statevector mode, density matrices (P, B, d^n, d^n) otherwise."""
        prog = self._program(circuit, x, params)
        if self.mode == "statevector":
            return self._statevector(prog).reshape((prog.P, prog.B) + (prog.d,) * prog.n)
        return standard_layout(self._density(prog), prog.n, prog.d)

    def populations(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        """Level populations (P, B, d, ..., d), real."""
        prog = self._program(circuit, x, params)
        if self.mode == "statevector":
            psi = self._statevector(prog, populations_only=True)
            pops = psi.real**2 + psi.imag**2
        else:
            pops = self._density_populations(prog)
        return pops.reshape((prog.P, prog.B) + (prog.d,) * prog.n)

    def expect(self, circuit: Circuit, x=None, params=None, rng: np.random.Generator | None = None) -> np.ndarray:
        """<Z_q> read out (assignment errors, shots) for every parameter set and sample: (P, B, n). Exact
        expectations of density matrices with more samples than qubits, one parameter set and only the
        first block depending on the sample: by observable batching (module docstring), n backward
        registers instead of B forward ones."""
        if self.mode == "density" and self.readout.shots is None and self._entangler_dual:
            xp, pp = self._prepare(circuit, x, params)
            n, size = circuit.n_qubits, self.provider.levels ** (2 * circuit.n_qubits)
            if pp.shape[0] == 1 and n < xp.shape[0] and n * 16 * size <= OBSERVABLE_BATCH_BYTES:
                prog = self._program(circuit, xp, pp)
                if self._shared_after_first(self._blocks_for(prog, True)):
                    return self._expect_by_observables(prog)
        return expect_z(self.populations(circuit, x, params), circuit.n_qubits, self.readout, rng)

    def _readout_weights(self, pops: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
        """(E, w) for populations (P, B, d, ..., d): E = <Z_q> read out exactly (P, B, n) and w = gain x the
        weights (P, B, n); ``weights`` is (P, B, n) or a callable E -> weights (a loss cotangent at E)."""
        ro = self.readout
        e = (ro.p10 - ro.p01) + ro.gain * z_exact(pops, pops.ndim - 2)
        return e, self._cotangent(e, weights)

    def _cotangent(self, e: np.ndarray, weights) -> np.ndarray:
        """gain x the weights (P, B, n) at read-out expectations E (P, B, n); ``weights``: an array or a
        callable E -> weights."""
        return np.broadcast_to(np.asarray(weights(e) if callable(weights) else weights, dtype=float),
                               e.shape) * self.readout.gain

    @staticmethod
    def _z_levels(n: int, d: int) -> np.ndarray:
        """(n, d, ..., d): the level pattern of Z_q, +1 on level 0 of qubit q and -1 above (leaked levels
        read as 1)."""
        zl = -np.ones(d)
        zl[0] = 1.0
        out = np.empty((n,) + (d,) * n)
        for q in range(n):
            shape = [1] * n
            shape[q] = d
            out[q] = np.broadcast_to(zl.reshape(shape), (d,) * n)
        return out

    def _readout_observable(self, pops: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
        """(E, O): E as :meth:`_readout_weights`, and the diagonal observable O = sum_q w_q Z_q
        (:meth:`_z_levels`), shaped like ``pops``."""
        e, w = self._readout_weights(pops, weights)
        return e, self._observable(w, pops.shape[-1]).reshape(pops.shape)

    @classmethod
    def _observable(cls, w: np.ndarray, d: int) -> np.ndarray:
        """sum_q w_q Z_q (P, B, d^n) of weights w (P, B, n)."""
        P, B, n = w.shape
        z = cls._z_levels(n, d)
        obs = np.zeros((P, B) + (d,) * n)
        for q in range(n):
            obs = obs + w[:, :, q].reshape((P, B) + (1,) * n) * z[q]
        return obs.reshape(P, B, -1)

    def shift_jacobian(self, circuit: Circuit, x, params, rng: np.random.Generator | None = None):
        """(E0 (B, n), J (n_params, B, n)) for ONE parameter set, by the (generalised) shift rule."""
        return shift_jacobian_of(self, circuit, x, params, rng)

    @property
    def can_density_adjoint(self) -> bool:
        """Density-matrix execution, exact expectations and an entangler with a backward map: the
        Liouville-space adjoint (:meth:`density_vjp`) applies."""
        return self.mode == "density" and self.readout.shots is None and self._entangler_dual

    def vjp(self, circuit: Circuit, x, params, weights):
        """(E (P, B, n), grad (P, n_params)) of sum w * E by the cheapest exact-expectation adjoint:
        the pure-state adjoint where it applies, else the Liouville-space one. ``weights``: (P, B, n)
        or a callable E -> weights (a loss cotangent from the same forward sweep: one forward, not two)."""
        if self.can_adjoint:
            return self.adjoint_vjp(circuit, x, params, weights)
        return self.density_vjp(circuit, x, params, weights)

    def density_vjp(self, circuit: Circuit, x, params, weights):
        """(E, grad): E = <Z_q> read out exactly (P, B, n); grad (P, n_params) of sum w * E, the
        same numbers as :meth:`shift_jacobian` contracted with w, from one forward and one backward
        sweep in Liouville space (module docstring, 'Adjoint gradient through channels'; with more samples
        than qubits and only the first block depending on the sample, 'Observable batching')."""
        if not self.can_density_adjoint:
            raise CryoctlError("the density-matrix adjoint needs density-matrix execution, exact expectations "
                               "(shots = none) and an ideal or realized CZ entangler", field="gradient")
        x, params = self._prepare(circuit, x, params)
        prog = self._program(circuit, x, params)
        n, d, P, B = prog.n, prog.d, prog.P, prog.B
        dd = d * d
        m = circuit.n_params
        scale = np.zeros(m)
        if self.quantized:  # the shifted gates of every parameter, from two more look-ups of the program
            _, denom = self.shift_rule(circuit)
            scale[:] = 1.0 / denom
            plus = self._program(circuit, x, self._shifted_params(circuit, params, +1)).blocks
            minus = self._program(circuit, x, self._shifted_params(circuit, params, -1)).blocks
        else:  # exact rotations: the analytic derivative of kron(U, U*), dU = -i G U / 2
            scale[:] = 1.0
            gens = {a: self.provider.generator(a) for a in ROTATION_AXES}
        blocks = self._blocks_for(prog, True)
        grad = np.zeros((P, m))

        def accumulate(bi: int, q: int, mred: np.ndarray) -> None:
            """grad += the parameter gates of qubit q in block bi contracted with M (P, B|1, d^2, d^2)."""
            seq = [(j, g, op) for j, (g, op) in enumerate(blocks[bi][1]) if g.qubit == q]
            sup = [kron_conj(op) if op.shape[-1] == d else op for _, _, op in seq]
            pre = [None]
            for sj in sup[:-1]:
                pre.append(sj if pre[-1] is None else sj @ pre[-1])
            suf = None
            for t in range(len(seq) - 1, -1, -1):
                j, g, op = seq[t]
                if g.source == "p":
                    if self.quantized:
                        dp = [blocks_op(plus, bi, j), blocks_op(minus, bi, j)]
                        dp = [kron_conj(o) if o.shape[-1] == d else o for o in dp]
                        dj = dp[0] - dp[1]
                    else:
                        du = -0.5j * (gens[g.axis] @ op)
                        dj = np.einsum("...ij,...kl->...ikjl", du, np.conj(op)) + \
                            np.einsum("...ij,...kl->...ikjl", op, np.conj(du))
                        dj = dj.reshape(dj.shape[:-4] + (dd, dd))
                    if pre[t] is not None:
                        dj = dj @ pre[t]
                    if suf is not None:
                        dj = suf @ dj
                    grad[:, g.index] += scale[g.index] * np.einsum(
                        "pbac,pbac->p", mred, np.broadcast_to(dj, mred.shape)).real
                suf = sup[t] if suf is None else suf @ sup[t]

        def first_block(lam: np.ndarray, fused: dict) -> None:
            """The first block on |0...0>: a product state, M[a, c] = L_q[a] [c == 0] (contract_except)."""
            needed = sorted({g.qubit for g, _ in blocks[0][1] if g.source == "p"})
            if not needed:
                return
            e0 = np.zeros(dd)
            e0[0] = 1.0
            lqs = contract_except(lam, {k: f[..., :, 0] for k, f in fused.items()}, needed, n, d)
            for q in reversed(list(fused)):
                if q in lqs:
                    accumulate(0, q, lqs[q][..., :, None] * e0[None, None, None, :])

        diag = pair_diagonal(n, d)
        last = max((i for i, (kind, _) in enumerate(blocks) if kind == "rot"), default=0)
        tail = isinstance(self.entangler, IdealCZ) and last > 0
        if n < B and self._shared_after_first(blocks):  # observable batching (module docstring)
            lam, after = self._observables_back(blocks, n, d, keep=True)
            fused0 = self._fuse(blocks[0][1], superop=True)
            rho0 = product_pairs(fused0, n, d, P, B)  # the B product states after the first block
            ro = self.readout
            e = (ro.p10 - ro.p01) + ro.gain * (rho0 @ np.swapaxes(lam, -1, -2)).real  # <Z_q>_b = <Lambda_q, rho_b>
            w = self._cotangent(e, weights)
            first_block(weighted_sum(w, np.broadcast_to(lam, (P, n, lam.shape[-1]))), fused0)
            r_w = weighted_sum(np.swapaxes(w, 1, 2), rho0)  # R_q = sum_b w_bq rho_b, carried forwards
            del rho0
            for bi in range(1, last + 1 if tail else len(blocks)):
                kind, items = blocks[bi]
                if kind == "cz":
                    r_w = self._entangle_pairs(r_w, items, n, d)
                    continue
                fused = self._fuse(items, superop=True)
                for q in fused:
                    if (bi, q) in after:  # sum_b M_b = sum_q reduced(Lambda_q, R_q)
                        accumulate(bi, q, reduced_pairs(after.pop((bi, q)), r_w, q, n, d).sum(axis=1, keepdims=True))
                    if not after:
                        break
                    r_w = apply_superop_pairs(r_w, fused[q], q, n, d)
                if not after:
                    break
            return e, grad
        record: list = []
        if tail:  # the last rotation block's final operation and the CZs after it on populations only
            r = self._density(prog, record=record, blocks=blocks[:last])
            fused = self._fuse(blocks[last][1], superop=True)
            needed = {g.qubit for g, _ in blocks[last][1] if g.source == "p"}
            seq, order = [], list(fused)
            for q in order:
                seq.append((q, fused[q], r if q in needed else None))
                if q != order[-1]:
                    r = apply_superop_pairs(r, fused[q], q, n, d)
            record.append(("rot", seq))
            flat = superops_to_populations(r, {order[-1]: fused[order[-1]]}, n, d)
            for _, pairs in blocks[last + 1:]:
                flat = cz_populations(flat, pairs, float(self.entangler.error), n, d)
            pops = flat.reshape((P, B) + (d,) * n)
        else:
            r = self._density(prog, populations_only=True, record=record)
            pops = r[:, :, diag].real.reshape((P, B) + (d,) * n)
        e, w = self._readout_weights(pops, weights)
        lam = self._diagonal_start(self._observable(w, d), blocks, n, d)
        for bi in range(len(record) - 1, -1, -1):
            kind, rec = record[bi]
            if kind == "cz":
                lam = self._entangle_pairs(lam, rec, n, d, dual=True)
            elif kind == "first":
                first_block(lam, rec)
            else:
                for q, sq, before in reversed(rec):
                    if before is not None:
                        accumulate(bi, q, reduced_pairs(lam, before, q, n, d))  # M (P, B, d^2, d^2)
                    lam = apply_superop_pairs(lam, np.swapaxes(sq, -1, -2), q, n, d)
        return e, grad

    def _one_set_density(self, circuit: Circuit, x, params):
        """The line search's preamble: density-matrix adjoint available, ONE parameter set; (x, params)."""
        if not self.can_density_adjoint:
            raise CryoctlError("the line search needs density-matrix execution, exact expectations (shots = none) "
                               "and an ideal or realized CZ entangler", field="line_search")
        x, params = self._prepare(circuit, x, params)
        if params.shape[0] != 1:
            raise CryoctlError(f"expected one parameter set, got {params.shape[0]}", field="params")
        return x, params

    def _readout_observables(self, n: int, d: int) -> np.ndarray:
        """The n readout observables gain * Z_q in pair layout, (n, 1, (d^2)^n) complex: the start of a
        backward sweep per <Z_q>, batched along the parameter axis and broadcast along the samples (they
        stay one per qubit through every operation that is the same for all samples)."""
        lam = np.zeros((n, 1, (d * d) ** n), dtype=np.complex128)
        lam[:, :, pair_diagonal(n, d)] = self.readout.gain * self._z_levels(n, d).reshape(n, 1, -1)
        return lam

    def line_expectations(self, circuit: Circuit, x, params, k: int, candidates) -> np.ndarray:
        """E (G, B, n): <Z_q> read out exactly with parameter k played at each of the G ``candidates`` (codes;
        angles on float providers) and every other parameter as in ``params`` (ONE set), for a line search.

        The expectation is linear in the superoperator S of k's gate, so with rho_k the state just before
        it (every other operation of its block applied: they act on other qubits and commute, the ones of
        its qubit before it folded in as Pre) and Lambda_q the readout observable gain * Z_q propagated
        backwards to just after it (the dual maps of :meth:`density_vjp`),

            E_q(c) = (p10 - p01) + <Lambda_q | Suf S(c) | Pre rho_k> = (p10 - p01) + sum_ac M^q_ac (Suf S(c))_ac,

        M^q = :func:`~cryoctl.circuit.simulate.reduced_pairs` (Lambda_q, Pre rho_k) on k's qubit, Suf the
        operations of that qubit after k's gate in the block. Cost: one forward sweep to the gate and one
        backward sweep of the n observables (batched along the parameter axis) from the end to it, whatever
        G is -- against G full runs; equal to them to round-off (tested). Needs the density-matrix adjoint
        (:attr:`can_density_adjoint`) and parameter k in exactly one gate.
        """
        x, params = self._one_set_density(circuit, x, params)
        prog = self._program(circuit, x, params)
        n, d, B = prog.n, prog.d, prog.B
        blocks = self._blocks_for(prog, True)
        where = [(bi, j) for bi, (kind, items) in enumerate(blocks) if kind == "rot"
                 for j, (g, _) in enumerate(items) if g.source == "p" and g.index == k]
        if len(where) != 1:
            raise CryoctlError(f"parameter {k} drives {len(where)} gates; the line expectations need exactly one",
                               field="line_search")
        bi, j = where[0]
        items = blocks[bi][1]
        gate = items[j][0]
        q = gate.qubit
        sup = {i: kron_conj(op) if op.shape[-1] == d else op for i, (g, op) in enumerate(items) if g.qubit == q}
        pre = suf = None
        for i, sq in sup.items():  # the operations of k's qubit in this block, in order: Pre, S_k, Suf
            if i < j:
                pre = sq if pre is None else sq @ pre
            elif i > j:
                suf = sq if suf is None else sq @ suf
        others = self._fuse([it for it in items if it[0].qubit != q], superop=True)
        if bi == 0:  # the first block on |0...0>: a product state
            r = product_pairs({**others, **({q: pre} if pre is not None else {})}, n, d, 1, B)
        else:
            r = self._density(prog, blocks=blocks[:bi])
            for q2, f in others.items():
                r = apply_superop_pairs(r, f, q2, n, d)
            if pre is not None:
                r = apply_superop_pairs(r, pre, q, n, d)
        ro = self.readout
        lam = self._readout_observables(n, d)
        for kind, its in blocks[:bi:-1]:  # backwards through everything after k's block
            if kind == "cz":
                lam = self._entangle_pairs(lam, its, n, d, dual=True)
            else:
                for q2, f in self._fuse(its, superop=True).items():
                    lam = apply_superop_pairs(lam, np.swapaxes(f, -1, -2), q2, n, d)
        mred = reduced_pairs(lam, r, q, n, d)  # (n, B, d^2, d^2)
        if suf is not None:  # sum_ac M_ac (Suf S)_ac = sum_ec (Suf^T M)_ec S_ec (Suf may depend on the sample)
            mred = np.swapaxes(suf, -1, -2) @ mred
        ops = np.asarray(self.provider.ops(gate.axis, q, np.asarray(candidates)))
        ops = kron_conj(ops) if ops.shape[-1] == d else ops  # (G, d^2, d^2)
        return (ro.p10 - ro.p01) + np.einsum("qbac,gac->gbq", mred, ops).real

    def line_sweep(self, circuit: Circuit, x, params, pick, coords=None) -> np.ndarray:
        """One exact coordinate sweep over the parameters (all, or those in ``coords``), from the LAST
        parameter gate to the first: returns the new codes (n_params,) of the ONE set ``params``.

        At each parameter k (reverse circuit order) ``pick(k, current, line)`` gets ``line(candidates)`` = E
        (G, B, n) with k at each candidate and every other parameter at its current value -- the ones after k
        already moved in this sweep -- and returns k's new code. The order is what makes it cheap: the states
        before every operation come from ONE recorded forward sweep (the parameters before k have not moved
        yet), and the readout observables Lambda_q (one per qubit, gain * Z_q, batched along the parameter
        axis) are carried backwards once, through the operations as they are after their moves. With M^q =
        reduced_pairs(Lambda_q, rho) on the qubit of k's block operation (Pre: its gates before k, Suf: after),

            E_q(c) = (p10 - p01) + sum_ef (Suf^T M^q Pre^T)_ef S(c)_ef            (:meth:`line_expectations`).

        Cost of the whole sweep: one forward and one backward pass (n observables) plus one reduction per
        (block, qubit), against one forward-and-backward per coordinate; memory: the recorded states
        (:meth:`ChunkedExecutor.line_sweep` checks it). Needs :attr:`can_density_adjoint` and every swept
        parameter in exactly one gate.
        """
        x, params = self._one_set_density(circuit, x, params)
        swept = set(range(circuit.n_params)) if coords is None else {int(k) for k in coords}
        uses = np.bincount([g.index for g in circuit.gates if isinstance(g, Rot) and g.source == "p"],
                           minlength=circuit.n_params)
        if any(uses[k] != 1 for k in swept):
            raise CryoctlError("the line sweep needs every swept parameter in exactly one gate", field="line_search")
        codes = params[0].copy()
        prog = self._program(circuit, x, params)
        n, d, B = prog.n, prog.d, prog.B
        blocks = [(kind, list(items)) for kind, items in self._blocks_for(prog, True)]
        r = product_pairs({}, n, d, 1, B)
        before: dict[tuple[int, int], np.ndarray] = {}  # (block, qubit) -> state before that qubit's operation
        for bi, (kind, items) in enumerate(blocks):
            if kind == "cz":
                r = self._entangle_pairs(r, items, n, d)
                continue
            needed = {g.qubit for g, _ in items if g.source == "p" and g.index in swept}
            for q, f in self._fuse(items, superop=True).items():
                if q in needed:
                    before[(bi, q)] = r
                r = apply_superop_pairs(r, f, q, n, d)
        del r
        ro = self.readout
        lam = self._readout_observables(n, d)
        for bi in range(len(blocks) - 1, -1, -1):
            kind, items = blocks[bi]
            if kind == "cz":
                lam = self._entangle_pairs(lam, items, n, d, dual=True)
                continue
            for q in reversed(list(self._fuse(items, superop=True))):
                idx = [i for i, (g, _) in enumerate(items) if g.qubit == q]
                if (bi, q) in before:
                    mred = reduced_pairs(lam, before.pop((bi, q)), q, n, d)  # (n, B, d^2, d^2)
                    for t in range(len(idx) - 1, -1, -1):
                        g = items[idx[t]][0]
                        if g.source != "p" or g.index not in swept:
                            continue
                        pre = self._fuse([items[i] for i in idx[:t]], superop=True).get(q)
                        suf = self._fuse([items[i] for i in idx[t + 1:]], superop=True).get(q)
                        m = mred if suf is None else np.swapaxes(suf, -1, -2) @ mred
                        m = m if pre is None else m @ np.swapaxes(pre, -1, -2)

                        def line(candidates, g=g, m=m):
                            ops = np.asarray(self.provider.ops(g.axis, g.qubit, np.asarray(candidates)))
                            ops = kron_conj(ops) if ops.shape[-1] == d else ops
                            return (ro.p10 - ro.p01) + np.einsum("qbac,gac->gbq", m, ops).real

                        new = pick(g.index, codes[g.index], line)
                        if new != codes[g.index]:
                            codes[g.index] = new
                            items[idx[t]] = (g, self.provider.ops(g.axis, g.qubit, np.asarray([new]))[:, None])
                f = self._fuse([items[i] for i in idx], superop=True)[q]
                lam = apply_superop_pairs(lam, np.swapaxes(f, -1, -2), q, n, d)
        return codes

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
        pops = (psi.real**2 + psi.imag**2).reshape((P, B) + (d,) * n)
        e, obs = self._readout_observable(pops, weights)
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


def blocks_op(blocks: list, bi: int, j: int) -> np.ndarray:
    """The operation of gate j of rotation block bi of a program's blocks."""
    return blocks[bi][1][j][1]


def shift_jacobian_of(executor, circuit: Circuit, x, params, rng: np.random.Generator | None = None):
    """The shift-rule Jacobian through any executor's ``expect`` (numpy or JAX): the 2 m + 1 parameter sets
    (unshifted, each parameter moved by +move, then by -move, wrapped on the code grid) in ONE call,

        J_k = [E(p + move_k e_k) - E(p - move_k e_k)] / denom_k      (:meth:`Executor.shift_rule`).
    """
    params = executor._prepare_params(circuit, params)
    if params.shape[0] != 1:
        raise CryoctlError(f"expected one parameter set, got {params.shape[0]}", field="params")
    params = params[0, : circuit.n_params]
    m = params.size
    move, denom = executor.shift_rule(circuit)
    shifted = np.repeat(params[None, :], 2 * m + 1, axis=0)
    idx = np.arange(m)
    shifted[1 + idx, idx] += move
    shifted[1 + m + idx, idx] -= move
    if executor.quantized:
        shifted = executor.wrap_codes(circuit, shifted)
    e = executor.expect(circuit, x, shifted, rng)
    jac = (e[1: 1 + m] - e[1 + m:]) / np.asarray(denom, dtype=float)[:, None, None]
    return e[0], jac
