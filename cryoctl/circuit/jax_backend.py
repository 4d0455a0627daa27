"""The JAX circuit backend (``--backend jax``; ``pip install cryoctl[jax]``): the executor's forward runs and
gradients compiled by XLA, in float64, on CPU or GPU.

    ex = JaxExecutor(provider, entangler=IdealCZ(), readout=Readout())   # or JaxExecutor.from_executor(numpy_ex)
    ex.populations(circuit, x, params)          # (P, B, d, ..., d), as Executor.populations
    ex.expect(circuit, x, params, rng)          # (P, B, n)
    ex.shift_jacobian(circuit, x, params, rng)  # the same code-grid shift rule as Executor, one batched run
    ex.adjoint_vjp(circuit, x, params, weights)  # (E, grad of sum w E) by reverse-mode autodiff (jax.vjp)

It has the public interface of :class:`cryoctl.circuit.executor.Executor` (the QNN trainers, gradients and
inference take either), and the same results to rounding (tests: 1e-10). What is the same: the provider's
code grids (``encode_params``, ``param_steps``, ``wrap_codes``, ``code_shift``, ``param_angles``: delegated to a
numpy ``Executor`` bound to the same provider/entangler/readout, which also picks the mode), the block
split, the fused single-qubit blocks, the product first block, the entanglers' action, the readout. What
changes: ``jax.jit``-compiled functions per circuit (the circuit's structure is static; P, B and the
code/angle values are arguments), operations built on the device, and how the exact readout is reached:

- pure states whose last played block (trailing diagonal CZs dropped) is a rotation block after the first:
  the marginals <Z_q> come from the state BEFORE that block, P_q(0) = sum_rest |sum_a U_q[0, a]
  psi[.., a, ..]|^2 (:func:`z_after_block_jax`; the other qubits' unitaries cancel in the partial trace), so
  the last block is never applied to the state and no populations are formed. The state and the marginals
  are two compiled calls (in one program XLA's CPU fusion rebuilds the product state inside every
  marginal's sum); the autodiff gradient chains their ``jax.vjp`` pullbacks over three calls. Every sum
  over basis states is a matrix product (with ones, or with the level-0 mask in :func:`z_exact_jax`): XLA's
  CPU reductions of these shapes are 5-10x slower than the same sums as dots. Measured at 8 qubits, d = 3,
  B = 16 (compact16) on a loaded 2-core machine: compiled forward 2.3-2.6 ms -> 1.0-2.0 ms; autodiff
  gradient 13.9 ms vs 16.5 ms through the populations (same run, interleaved);
- density matrices and other circuits: the populations, then :func:`z_exact_jax`.

Operations:

- :class:`~cryoctl.circuit.providers.ExactProvider` / :class:`~cryoctl.circuit.providers.IdealQuantizer`:
  rotations exp(-i theta P/2) (identity on leakage) built in JAX from the angles (the ideal quantizer's
  grid angle c * step), so d<Z>/dtheta is reverse-mode autodiff: ``adjoint_vjp`` is ``jax.vjp`` of the
  exact readout, equal to the numpy adjoint sweep; it works in density-matrix mode too (a noisy CZ), where
  numpy falls back to the shift rule, so ``can_adjoint`` is True there as well.
- :class:`~cryoctl.circuit.providers.TableProvider`: the table's operations are uploaded once per
  executor ((n_qubits, 2^N, d, d) unitaries or (.., d^2, d^2) channels per axis) and gathered by code on
  the device (``table[axis][qubit][code - code_min]``); RZ is the virtual frame update
  diag(exp(i phi (k - 1/2))) of the phase word. The gradient is the code-grid shift rule (the table is
  not differentiable in the code): ``shift_jacobian``, 2 m + 1 parameter sets in one compiled run.
- any other provider: its ``ops`` are evaluated with numpy per gate and handed to the compiled kernel.

Entanglers: :class:`~cryoctl.circuit.entangler.IdealCZ` (the +-1 diagonal; with ``error`` > 0 the
depolarizing channel of :func:`~cryoctl.circuit.entangler.depolarize_pair`, written without in-place
updates) and :class:`~cryoctl.circuit.entangler.RealizedCZ` (unitary or channel on the pair's axes). Finite
shots: the populations come back to numpy and :func:`~cryoctl.circuit.readout.expect_z` draws them (the same
multinomial draws as numpy for the same generator).

64-bit floats are switched on when this module is imported (``jax_enable_x64``). JAX is imported only
here: the numpy executor, the default, never needs it.
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:
    raise CryoctlError("the jax backend needs JAX, which is not installed: pip install cryoctl[jax]",
                       field="backend") from exc

jax.config.update("jax_enable_x64", True)

from cryoctl.circuit.description import Circuit, Rot  # noqa: E402
from cryoctl.circuit.entangler import IdealCZ, RealizedCZ, leaked_pair_mask, pair_slice  # noqa: E402
from cryoctl.circuit.executor import Executor, shift_jacobian_of  # noqa: E402
from cryoctl.circuit.ops import cz_diagonal  # noqa: E402
from cryoctl.circuit.providers import ExactProvider, IdealQuantizer, TableProvider  # noqa: E402
from cryoctl.circuit.readout import Readout, expect_z  # noqa: E402

BACKENDS = ("numpy", "jax")


# ---------------------------------------------------------------------------------------------- kernels (JAX)

def _basis(d: int, pairs) -> np.ndarray:
    m = np.zeros((d, d), dtype=np.complex128)
    for (i, j), v in pairs:
        m[i, j] = v
    return m


def rotation_jax(axis: str, theta, d: int):
    """exp(-i theta P / 2) on levels {0, 1}, identity on leakage: theta (...) -> (..., d, d), differentiable."""
    theta = jnp.asarray(theta, dtype=jnp.float64)
    leak = np.eye(d, dtype=np.complex128)
    leak[0, 0] = leak[1, 1] = 0.0
    if axis == "z":
        ph0, ph1 = jnp.exp(-0.5j * theta), jnp.exp(0.5j * theta)
        return leak + ph0[..., None, None] * _basis(d, [((0, 0), 1)]) + ph1[..., None, None] * _basis(d, [((1, 1), 1)])
    c, s = jnp.cos(theta / 2)[..., None, None], jnp.sin(theta / 2)[..., None, None]
    off = _basis(d, [((0, 1), -1j), ((1, 0), -1j)]) if axis == "x" else _basis(d, [((0, 1), -1), ((1, 0), 1)])
    return leak + c * _basis(d, [((0, 0), 1), ((1, 1), 1)]) + s * off


def virtual_z_jax(phi, d: int):
    """The frame update diag(exp(i phi (k - 1/2))) (:func:`cryoctl.pulse.frame.virtual_z`): (..., d, d)."""
    diag = jnp.exp(1j * jnp.asarray(phi, dtype=jnp.float64)[..., None] * (np.arange(d) - 0.5))
    return diag[..., :, None] * np.eye(d)


def kron_conj_jax(u):
    """Row-major kron(U, U*) of (..., d, d) -> (..., d^2, d^2) (:func:`cryoctl.conventions.kron_conj`)."""
    d = u.shape[-1]
    s = u[..., :, None, :, None] * jnp.conj(u)[..., None, :, None, :]
    return s.reshape(u.shape[:-2] + (d * d, d * d))


def apply_1q_jax(psi, u, q: int, n: int, d: int, for_grad: bool = False):
    """u (P|1, B|1, d, d) on qubit q of psi (P, B, d^n).

    Forward runs: d broadcast multiply-adds on the real and imaginary parts, psi'[.., i, ..] =
    sum_j u[i, j] psi[.., j, ..], which XLA fuses into one vectorised float64 loop over the state (measured on
    CPU at 8 qubits: 1.5-1.8x faster than the batched complex matmul, 1.2x faster than the same sums in
    complex arithmetic; fusing two qubits into one 9 x 9 pass is 4x slower: the kernel is compute-bound).
    Differentiated runs (``for_grad``): the batched (d x d) @ (d x R) matmul, whose transpose is again a
    matmul (the slices of the fused form transpose into pads: ~5x slower backward).
    """
    P, B = psi.shape[:2]
    view = psi.reshape(P, B, d**q, d, d ** (n - q - 1))
    if for_grad:
        return (u[:, :, None] @ view).reshape(P, B, d**n)
    vr, vi = view.real, view.imag
    ur, ui = u.real[:, :, None], u.imag[:, :, None]
    out_r = sum(ur[..., :, j, None] * vr[:, :, :, j: j + 1, :] - ui[..., :, j, None] * vi[:, :, :, j: j + 1, :]
                for j in range(d))
    out_i = sum(ur[..., :, j, None] * vi[:, :, :, j: j + 1, :] + ui[..., :, j, None] * vr[:, :, :, j: j + 1, :]
                for j in range(d))
    return jax.lax.complex(out_r, out_i).reshape(P, B, d**n)


def apply_superop_jax(rho, s, q: int, n: int, d: int):
    """Row-major superoperator s (P|1, B|1, d^2, d^2) on the ket and bra axes of qubit q of rho (P, B, D, D)."""
    P, B = rho.shape[:2]
    L, R = d**q, d ** (n - q - 1)
    view = rho.reshape(P, B, L, d, R, L, d, R)
    s4 = jnp.broadcast_to(s, (P, B, d * d, d * d)).reshape(P, B, d, d, d, d)
    out = jnp.einsum("pbijkl,pbxkyzlw->pbxiyzjw", s4, view)
    return out.reshape(P, B, d**n, d**n)


def apply_on_axes_jax(t, m, axes):
    """Constant M (D, D) on register axes ``axes`` of t (row-major joint index), as simulate.apply_on_axes."""
    axes = [int(a) for a in axes]
    k = len(axes)
    last = list(range(t.ndim - k, t.ndim))
    moved = jnp.moveaxis(t, axes, last)
    shape = moved.shape
    out = (moved.reshape(shape[: t.ndim - k] + (-1,)) @ jnp.asarray(m).T).reshape(shape)
    return jnp.moveaxis(out, last, axes)


def product_state_jax(fused: dict, n: int, d: int, P: int, B: int):
    e0 = np.eye(d, dtype=np.complex128)[:, 0]
    psi = None
    for q in range(n):
        col = jnp.broadcast_to(fused[q][..., :, 0] if q in fused else e0, (P, B, d))
        psi = col if psi is None else (psi[..., :, None] * col[..., None, :]).reshape(P, B, -1)
    return psi.astype(jnp.complex128)


def product_density_jax(fused: dict, n: int, d: int, P: int, B: int):
    e0 = np.zeros((d, d), dtype=np.complex128)
    e0[0, 0] = 1.0
    rho = None
    for q in range(n):
        m = fused[q][..., :, 0].reshape(fused[q].shape[:-2] + (d, d)) if q in fused else e0
        m = jnp.broadcast_to(m, (P, B, d, d))
        if rho is None:
            rho = m
        else:
            D = rho.shape[-1]
            rho = (rho[..., :, None, :, None] * m[..., None, :, None, :]).reshape(P, B, D * d, D * d)
    return rho.astype(jnp.complex128)


def depolarize_pair_jax(rho, a: int, b: int, p: float, n: int, d: int):
    """(1 - p) rho + p [Tr_ab(Pi rho Pi) (x) Pi/4 + Q rho Q] on (a, b): :func:`entangler.depolarize_pair`."""
    P, B = rho.shape[:2]
    r = rho.reshape((P, B) + (d,) * (2 * n))
    reduced = sum(r[pair_slice(a, b, n, i, j)] for i in (0, 1) for j in (0, 1))
    r = r * np.where(leaked_pair_mask(a, b, n, d), 1.0, 1.0 - p)
    for i in (0, 1):
        for j in (0, 1):
            r = r.at[pair_slice(a, b, n, i, j)].add((p / 4) * reduced)
    return r.reshape(P, B, d**n, d**n)


def z_exact_jax(pops, n: int, d: int):
    """<Z_q> = 2 P_q(level 0) - 1 from populations (P, B, d^n) -> (P, B, n): ONE matrix product with the 0/1
    matrix M[k, q] = [level of qubit q in basis state k is 0] (built from an iota on the device), instead of
    n reductions over the population array (XLA's CPU reductions of these shapes: ~8x slower at 8 qubits)."""
    P, B = pops.shape[:2]
    k = jnp.arange(d**n)[:, None]
    mask = ((k // (d ** (n - 1 - np.arange(n)))[None, :]) % d == 0).astype(pops.dtype)
    return 2 * (pops.reshape(P * B, d**n) @ mask).reshape(P, B, n) - 1


def z_after_block_jax(psi, rows, held, n: int, d: int):
    """<Z_q> (P, B, n) of the pure state (x)_q U_q psi without building it: the marginal of qubit q after a
    block of single-qubit operations depends only on U_q (the others are unitaries on other axes and cancel
    in the partial trace), and P_q(0) = sum_rest |sum_a U_q[0, a] psi[.., a, ..]|^2 needs only U_q's row 0
    (``rows`` (P, B, len(held), d), one per qubit in ``held``; U_q = 1 on the others). One read of psi per
    qubit with d multiply-adds per output of d^(n-1), instead of n full passes (d^(n+1) multiply-adds, read
    and write), the populations and the reductions. Each sum over the rest is a matrix-vector product with
    ones (XLA's CPU reductions of these shapes run 5-10x slower than the same sum as a dot)."""
    P, B = psi.shape[:2]
    out = []
    for q in range(n):
        view = psi.reshape(P, B, d**q, d, d ** (n - q - 1))
        if q in held:
            row = rows[:, :, held.index(q), None, :, None]  # (P, B, 1, d, 1)
            phi = sum(row[:, :, :, a] * view[:, :, :, a] for a in range(d))
        else:
            phi = view[:, :, :, 0]
        sq = (phi.real**2 + phi.imag**2).reshape(P * B, -1)
        out.append(2 * (sq @ jnp.ones(sq.shape[1], dtype=sq.dtype)).reshape(P, B) - 1)
    return jnp.stack(out, axis=-1)


# ---------------------------------------------------------------------------------------------- gate sources

class _Gates:
    """How a provider's values become operations on the device (one per provider family)."""

    differentiable = False  # param entries are float angles and the operation is differentiable in them

    def __init__(self, provider):
        self.provider = provider
        self.d = provider.levels
        self.channel = provider.kind == "channel"

    def consts(self):
        return ()

    def param_entry(self, g: Rot, values: np.ndarray):
        """values (P,) of parameter g.index as the provider plays them -> the kernel's entry."""
        raise NotImplementedError

    def data_entry(self, g: Rot, x_col: np.ndarray):
        raise NotImplementedError

    def op(self, g: Rot, entry, consts):
        raise NotImplementedError


class _RotationGates(_Gates):
    """Exact rotations of angles (ExactProvider: the values; IdealQuantizer: c * step of its codes)."""

    differentiable = True

    def _angles(self, g, values):
        if isinstance(self.provider, ExactProvider):
            return np.asarray(values, dtype=float)
        return np.asarray(self.provider.angle(g.axis, g.qubit, values), dtype=float)

    def param_entry(self, g, values):
        return self._angles(g, values)

    def data_entry(self, g, x_col):
        return self._angles(g, self.provider.encode(g.axis, g.qubit, x_col))

    def op(self, g, entry, consts):
        u = rotation_jax(g.axis, entry, self.d)
        return kron_conj_jax(u) if self.channel else u


class _TableGates(_Gates):
    """Table operations gathered by code on the device; RZ: the virtual frame update of the phase word."""

    def __init__(self, provider: TableProvider):
        super().__init__(provider)
        self.table = provider.table
        self._consts = None

    def consts(self):
        if self._consts is None:  # uploaded once per executor
            self._consts = {axis: jnp.asarray(v) for axis, v in self.table.ops.items()}
        return self._consts

    def _codes(self, g, codes):
        codes = np.asarray(codes)
        if codes.size and not np.issubdtype(codes.dtype, np.integer):
            raise CryoctlError(f"expected integer codes, got {codes.dtype} values (encode angles first)",
                               field="codes")
        if g.axis == "z":  # the phase word as given (numpy's TableProvider.ops does not wrap it either)
            return codes.astype(np.int64)
        self.provider._qubit(g.qubit)
        return self.table.check_codes(codes) - self.table.code_min

    def param_entry(self, g, values):
        return self._codes(g, values)

    def data_entry(self, g, x_col):
        return self._codes(g, self.provider.encode(g.axis, g.qubit, x_col))

    def op(self, g, entry, consts):
        if g.axis == "z":
            u = virtual_z_jax(entry * self.provider.phase_step, self.d)
            return kron_conj_jax(u) if self.channel else u
        return consts[g.axis][g.qubit][entry]


class _NumpyGates(_Gates):
    """Any other provider: its numpy ``ops`` per gate, handed to the kernel as arrays."""

    def param_entry(self, g, values):
        return np.asarray(self.provider.ops(g.axis, g.qubit, values))

    def data_entry(self, g, x_col):
        p = self.provider
        return np.asarray(p.ops(g.axis, g.qubit, p.encode(g.axis, g.qubit, x_col)))

    def op(self, g, entry, consts):
        return entry


def _gates_for(provider) -> _Gates:
    if isinstance(provider, (ExactProvider, IdealQuantizer)):
        return _RotationGates(provider)
    if isinstance(provider, TableProvider):
        return _TableGates(provider)
    return _NumpyGates(provider)


# ---------------------------------------------------------------------------------------------- the executor

def _blocks(circuit: Circuit) -> list[tuple[str, list]]:
    """("rot", [(Rot, source, entry index)...]) / ("cz", [(a, b)...]) blocks; entries count param and
    data gates separately in circuit order."""
    blocks: list[tuple[str, list]] = []
    n_p = n_x = 0
    for g in circuit.gates:
        if isinstance(g, Rot):
            if g.source == "p":
                item, n_p = (g, "p", n_p), n_p + 1
            else:
                item, n_x = (g, "x", n_x), n_x + 1
            kind = "rot"
        else:
            item, kind = (g.a, g.b), "cz"
        if blocks and blocks[-1][0] == kind:
            blocks[-1][1].append(item)
        else:
            blocks.append((kind, [item]))
    return blocks


def _blocks_trimmed(circuit: Circuit, entangler) -> list:
    """:func:`_blocks` without the trailing entangler blocks that populations skip (a diagonal entangler)."""
    blocks = _blocks(circuit)
    if getattr(entangler, "diagonal", False):
        while blocks and blocks[-1][0] == "cz":
            blocks.pop()
    return blocks


class JaxExecutor:
    """Executor interface on JAX (module docstring); numpy's :class:`Executor` stays the default."""

    backend = "jax"

    def __init__(self, provider, *, entangler=None, readout: Readout | None = None, mode: str = "auto"):
        self._ref = Executor(provider, entangler=entangler, readout=readout, mode=mode)  # checks, code grids
        self.provider = provider
        self.entangler = self._ref.entangler
        self.readout = self._ref.readout
        self.mode = self._ref.mode
        if not isinstance(self.entangler, (IdealCZ, RealizedCZ)):
            raise CryoctlError(f"the jax backend runs the ideal and the realized CZ, not "
                               f"{type(self.entangler).__name__}", field="entangler")
        self._gates = _gates_for(provider)
        self._compiled: dict = {}

    @classmethod
    def from_executor(cls, executor) -> "JaxExecutor":
        """The JAX twin of a numpy executor (same provider, entangler, readout and mode)."""
        return cls(executor.provider, entangler=executor.entangler, readout=executor.readout, mode=executor.mode)

    # ------------------------------------------------------------------ the numpy executor's code grids
    quantized = property(lambda self: self._ref.quantized)
    label = property(lambda self: self._ref.label)

    @property
    def can_adjoint(self) -> bool:
        """Differentiable rotations and exact expectations: reverse-mode autodiff (:meth:`adjoint_vjp`).
        Pure states with exact or ideally quantized rotations (numpy: the adjoint sweep), and density
        matrices with exact float rotations (numpy: the Liouville adjoint or the pi/2 shift rule, both
        exact there). An ideal quantizer in density mode keeps numpy's code-grid shift rule (its coarse
        channels use a code difference, not the derivative)."""
        exact = isinstance(self.provider, ExactProvider)
        return (self._gates.differentiable and self.readout.shots is None
                and (self.mode == "statevector" or exact))

    @property
    def can_density_adjoint(self) -> bool:
        """False: where numpy runs its Liouville-space adjoint on tables, the JAX backend runs the same
        code-grid shift rule (:meth:`shift_jacobian`, the numbers that adjoint reproduces) in one batch."""
        return False

    def shift_rule(self, circuit):
        """(move, denominator) per parameter: the numpy executor's rule (:meth:`Executor.shift_rule`)."""
        rule = getattr(self._ref, "shift_rule", None)
        if rule is not None:
            return rule(circuit)
        k, s = self._ref.code_shift(circuit)
        return (k if self.quantized else s), 2 * np.sin(s)

    def encode_params(self, circuit, angles):
        return self._ref.encode_params(circuit, angles)

    def param_angles(self, circuit, params):
        return self._ref.param_angles(circuit, params)

    def param_steps(self, circuit):
        return self._ref.param_steps(circuit)

    def wrap_codes(self, circuit, codes):
        return self._ref.wrap_codes(circuit, codes)

    def code_shift(self, circuit):
        return self._ref.code_shift(circuit)

    # ------------------------------------------------------------------ inputs
    def _prepare_params(self, circuit: Circuit, params) -> np.ndarray:
        return self._ref._prepare_params(circuit, params)

    def _entries(self, circuit: Circuit, x, params):
        """(P, B, param entries (P, n_param_gates, ...), data entries (B, n_data_gates, ...)): one array each,
        column k the values of the k-th parameter (data) gate in circuit order."""
        x = np.zeros((1, 0)) if x is None else np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] < circuit.n_inputs:
            raise CryoctlError(f"expected at least {circuit.n_inputs} input features, got {x.shape[1]}", field="x")
        params = self._prepare_params(circuit, params)
        gates = [g for g in circuit.gates if isinstance(g, Rot)]
        P, B = params.shape[0], x.shape[0]
        pe = [self._gates.param_entry(g, params[:, g.index]) for g in gates if g.source == "p"]
        xe = [self._gates.data_entry(g, x[:, g.index]) for g in gates if g.source == "x"]
        pe = np.stack(pe, axis=1) if pe else np.zeros((P, 0))
        xe = np.stack(xe, axis=1) if xe else np.zeros((B, 0))
        return P, B, jnp.asarray(pe), jnp.asarray(xe)

    # ------------------------------------------------------------------ the compiled run
    def _fuse(self, items, pe, xe, consts, density: bool) -> dict:
        """Per qubit, the product u_k ... u_1 of a rotation block's operations, (P|1, B|1, d, d) (superoperators
        in density mode)."""
        d = self.provider.levels
        fused: dict = {}
        for g, src, k in items:
            op = self._gates.op(g, pe[:, k] if src == "p" else xe[:, k], consts)
            if density and op.shape[-1] == d:
                op = kron_conj_jax(op)
            op = op[:, None] if src == "p" else op[None, :]
            fused[g.qubit] = op if g.qubit not in fused else op @ fused[g.qubit]
        return fused

    def _run(self, circuit: Circuit, P: int, B: int, pe, xe, consts, populations_only: bool,
             for_grad: bool = False, hold_last: bool = False):
        """Final state (statevector (P, B, d^n) or density (P, B, d^n, d^n)); traced under jit. ``hold_last``
        (pure states): when the last block played is a rotation block after a first one, return (the state
        before it, its fused operations) instead (:func:`z_after_block_jax` reads the marginals from them)."""
        n, d = circuit.n_qubits, self.provider.levels
        density = self.mode == "density"
        blocks = _blocks(circuit)
        if populations_only and getattr(self.entangler, "diagonal", False):
            while blocks and blocks[-1][0] == "cz":
                blocks.pop()
        held = None
        if hold_last and not density and len(blocks) > 1 and blocks[-1][0] == "rot":
            held = self._fuse(blocks.pop()[1], pe, xe, consts, density)
        state = None
        for kind, items in blocks:
            if kind == "rot":
                fused = self._fuse(items, pe, xe, consts, density)
                if state is None:
                    state = (product_density_jax if density else product_state_jax)(fused, n, d, P, B)
                else:
                    for q, u in fused.items():
                        state = (apply_superop_jax(state, u, q, n, d) if density else
                                 apply_1q_jax(state, u, q, n, d, for_grad))
                continue
            if state is None:
                state = (product_density_jax if density else product_state_jax)({}, n, d, P, B)
            state = self._entangle(state, items, n, d, density)
        if state is None:
            state = (product_density_jax if density else product_state_jax)({}, n, d, P, B)
        return state if held is None else (state, held)

    def _entangle(self, state, pairs, n: int, d: int, density: bool):
        ent = self.entangler
        P, B = state.shape[:2]
        if isinstance(ent, IdealCZ):
            if not density:
                return state * cz_diagonal(pairs, n, d).reshape(-1)
            if not ent.noisy:
                diag = cz_diagonal(pairs, n, d).reshape(-1)
                return state * np.multiply.outer(diag, diag)
            for a, b in pairs:
                diag = cz_diagonal([(a, b)], n, d).reshape(-1)
                state = depolarize_pair_jax(state * np.multiply.outer(diag, diag), a, b, float(ent.error), n, d)
            return state
        ent._check(d)
        t = state.reshape((P, B) + (d,) * (2 * n if density else n))
        for a, b in pairs:
            po = ent.pair(a, b)
            ket = [2 + q for q in po.qubits]
            if not density:
                t = apply_on_axes_jax(t, po.operation, ket)
            elif ent.noisy:
                t = apply_on_axes_jax(t, po.operation, ket + [2 + n + q for q in po.qubits])
            else:
                t = apply_on_axes_jax(apply_on_axes_jax(t, po.operation, ket), np.conj(po.operation),
                                      [2 + n + q for q in po.qubits])
        return t.reshape(state.shape)

    def _pops(self, circuit, P, B, pe, xe, consts, for_grad: bool = False):
        state = self._run(circuit, P, B, pe, xe, consts, populations_only=True, for_grad=for_grad)
        if self.mode == "statevector":
            return state.real**2 + state.imag**2
        return jnp.diagonal(state, axis1=-2, axis2=-1).real

    def _held(self, circuit: Circuit) -> tuple | None:
        """The qubits of the last rotation block whose marginals :func:`z_after_block_jax` reads from the state
        before it (pure states, a rotation block after the first one, trailing diagonal CZs dropped); None
        where the readout goes through the populations."""
        if self.mode != "statevector":
            return None
        blocks = _blocks_trimmed(circuit, self.entangler)
        if len(blocks) < 2 or blocks[-1][0] != "rot":
            return None
        return tuple(sorted({g.qubit for g, _, _ in blocks[-1][1]}))

    def _expect_exact(self, circuit, P, B, pe, xe, consts, for_grad: bool = False):
        """The exact readout (P, B, n) through the populations (the differentiated path)."""
        ro = self.readout
        pops = self._pops(circuit, P, B, pe, xe, consts, for_grad)
        return (ro.p10 - ro.p01) + ro.gain * z_exact_jax(pops, circuit.n_qubits, self.provider.levels)

    def _fn(self, what: str, circuit: Circuit):
        """The jitted function ``what`` for ``circuit`` (compiled once per circuit and shapes)."""
        key = (what, circuit)
        fn = self._compiled.get(key)
        if fn is not None:
            return fn
        n, d, ro = circuit.n_qubits, self.provider.levels, self.readout
        if what == "state":
            def fn(pe, xe, consts):
                return self._run(circuit, pe.shape[0], xe.shape[0], pe, xe, consts, populations_only=False)
        elif what == "pops":
            def fn(pe, xe, consts):
                return self._pops(circuit, pe.shape[0], xe.shape[0], pe, xe, consts)
        elif what == "expect":  # the exact readout through the populations
            def fn(pe, xe, consts):
                return self._expect_exact(circuit, pe.shape[0], xe.shape[0], pe, xe, consts)
        elif what in ("held", "held_vjp"):  # (state before the last rotation block, row 0 of its fused operations)
            held, grad = self._held(circuit), what == "held_vjp"

            def run(pe, xe, consts):
                P, B = pe.shape[0], xe.shape[0]
                state, fused = self._run(circuit, P, B, pe, xe, consts, populations_only=True, for_grad=grad,
                                         hold_last=True)
                return state, jnp.stack([jnp.broadcast_to(fused[q][..., 0, :], (P, B, d)) for q in held], axis=2)

            if grad:  # ((state, rows), the pullback to the parameter entries)
                def fn(pe, xe, consts):
                    return jax.vjp(lambda p: run(p, xe, consts), pe)
            else:
                fn = run
        elif what in ("marginals", "marginals_vjp"):  # the exact readout from "held" (and its pullback of w)
            held = self._held(circuit)

            def marg(state, rows):
                return (ro.p10 - ro.p01) + ro.gain * z_after_block_jax(state, rows, held, n, d)

            if what == "marginals":
                fn = marg
            else:
                def fn(state, rows, w):
                    e, pull = jax.vjp(marg, state, rows)
                    return e, pull(w)
        elif what == "pull":  # a pullback returned by a compiled jax.vjp, applied
            def fn(pull, ct):
                return pull(ct)[0]
        elif what == "vjp":  # (E, cotangent (P, n_param_gates) on the parameter entries) of sum w E
            def fn(pe, xe, consts, w):
                e, pull = jax.vjp(lambda p: self._expect_exact(circuit, p.shape[0], xe.shape[0], p, xe, consts,
                                                               for_grad=True), pe)
                return e, pull(w)[0]
        else:
            raise ValueError(what)
        fn = jax.jit(fn)
        self._compiled[key] = fn
        return fn

    def _expect_device(self, circuit: Circuit, pe, xe, consts):
        """The exact readout (P, B, n) on the device. With a held last block: two compiled calls, the state
        before the block, then its marginals (:func:`z_after_block_jax`). Two calls, not one: in one XLA
        program the CPU fusion pass inlines the (cheap-looking) product-state and CZ arithmetic into every
        marginal's sum instead of materialising the state once (measured 2x slower at 8 qubits)."""
        if self._held(circuit) is None:
            return self._fn("expect", circuit)(pe, xe, consts)
        return self._fn("marginals", circuit)(*self._fn("held", circuit)(pe, xe, consts))

    # ------------------------------------------------------------------ results (Executor's interface)
    def final_state(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        """Pure states (P, B, d, ..., d) in statevector mode, density matrices (P, B, d^n, d^n) otherwise."""
        P, B, pe, xe = self._entries(circuit, x, params)
        out = np.asarray(self._fn("state", circuit)(pe, xe, self._gates.consts()))
        if self.mode == "statevector":
            return out.reshape((P, B) + (self.provider.levels,) * circuit.n_qubits)
        return out

    def populations(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        """Level populations (P, B, d, ..., d), real."""
        P, B, pe, xe = self._entries(circuit, x, params)
        pops = np.asarray(self._fn("pops", circuit)(pe, xe, self._gates.consts()))
        return pops.reshape((P, B) + (self.provider.levels,) * circuit.n_qubits)

    def expect(self, circuit: Circuit, x=None, params=None, rng: np.random.Generator | None = None) -> np.ndarray:
        """<Z_q> read out (assignment errors, shots) for every parameter set and sample: (P, B, n)."""
        if self.readout.shots is not None:  # the draws are numpy's (same generator, same counts)
            return expect_z(self.populations(circuit, x, params), circuit.n_qubits, self.readout, rng)
        P, B, pe, xe = self._entries(circuit, x, params)
        return np.asarray(self._expect_device(circuit, pe, xe, self._gates.consts()))

    def shift_jacobian(self, circuit: Circuit, x, params, rng: np.random.Generator | None = None):
        """(E0 (B, n), J (n_params, B, n)) for ONE parameter set, by the (generalised) shift rule of
        :meth:`Executor.shift_jacobian` (same code shifts, same wrapping), 2 m + 1 sets in one run."""
        return shift_jacobian_of(self, circuit, x, params, rng)

    def adjoint_vjp(self, circuit: Circuit, x, params, weights):
        """(E (P, B, n), grad (P, n_params) of sum w * E) by reverse-mode autodiff (``jax.vjp``) of the
        exact readout, forward and backward compiled together. ``weights``: (P, B, n) or a callable
        E -> weights (a loss cotangent at E, as :meth:`Executor.vjp` takes; E then comes from one more
        compiled forward)."""
        if not self.can_adjoint:
            raise CryoctlError("the autodiff gradient needs exact (or ideally quantized) rotations and exact "
                               "expectations (shots = none); use the shift rule", field="gradient")
        P, B, pe, xe = self._entries(circuit, x, params)
        consts = self._gates.consts()
        w = weights(np.asarray(self._expect_device(circuit, pe, xe, consts))) if callable(weights) else weights
        w = np.broadcast_to(np.asarray(w, dtype=float), (P, B, circuit.n_qubits))
        w = jnp.asarray(w)
        if self._held(circuit) is None:
            e, g_entries = self._fn("vjp", circuit)(pe, xe, consts, w)
        else:  # three compiled calls (reason: _expect_device): forward to the held state, the marginals and
            (state, rows), pull = self._fn("held_vjp", circuit)(pe, xe, consts)  # their pullback, the pullback
            e, ct = self._fn("marginals_vjp", circuit)(state, rows, w)  # of the state to the entries
            g_entries = self._fn("pull", circuit)(pull, ct)
        e = np.asarray(e)
        grad = np.zeros((P, circuit.n_params))
        pgates = [g for g in circuit.gates if isinstance(g, Rot) and g.source == "p"]
        g_entries = np.asarray(g_entries)
        for k, g in enumerate(pgates):
            grad[:, g.index] += g_entries[:, k]  # a parameter shared by several gates: the sum (chain rule)
        return e, grad

    def vjp(self, circuit: Circuit, x, params, weights):
        """(E, grad) of sum w * E: autodiff where it applies, else the shift rule contracted with w."""
        if self.can_adjoint:
            return self.adjoint_vjp(circuit, x, params, weights)
        params = self._prepare_params(circuit, params)
        es, grads = [], []
        for i, p in enumerate(params):  # the shift rule takes one parameter set at a time
            e0, jac = self.shift_jacobian(circuit, x, p[None])
            if callable(weights):
                w = weights(e0[None])[0]
            else:
                w = np.broadcast_to(np.asarray(weights, dtype=float), (params.shape[0],) + e0.shape)[i]
            es.append(e0)
            grads.append(np.einsum("mbn,bn->m", jac, w))
        return np.stack(es), np.stack(grads)

    def grad(self, circuit: Circuit, x, params, weights=1.0) -> np.ndarray:
        """d/dparams of sum w <Z> (P, n_params) with ``jax.grad`` semantics (see :meth:`adjoint_vjp`)."""
        return self.adjoint_vjp(circuit, x, params, weights)[1]
