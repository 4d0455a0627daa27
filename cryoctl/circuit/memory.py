"""Memory and time of a circuit run, estimated before anything is allocated; batch chunking to fit.

The executor holds one register per (parameter set, sample) pair, P x B of them
(:mod:`cryoctl.circuit.executor`), each of

    statevector:     d^n      complex128 amplitudes  = 16 d^n      bytes,
    density matrix:  d^(2n)   complex128 entries     = 16 d^(2n)   bytes,

so a run needs P B 16 d^n (resp. P B 16 d^(2n)) bytes for the states alone. A parameter-shift gradient
runs P = 2 m + 1 parameter sets (m trainable angles) over a mini-batch of B samples in ONE call, so the
batch that matters for training is (2 m + 1) x B. The kernels (:mod:`cryoctl.circuit.simulate`) keep
the register, a transposed copy and the matmul output alive at once: measured with tracemalloc, the peak
of :meth:`Executor.populations` is 4.06-4.20 x the states' bytes plus one register for density matrices
(4-5 qubits, d = 3, depolarizing CZ, 1 to 10 registers) and 2.0-4.1 x for pure states, hence

    peak = WORK_FACTOR x states + S + P B d^n x 8,   WORK_FACTOR = 4.25,

S = one register's bytes for what a block shares across the batch (a CZ block's diagonal and its
leakage mask, d^(2n) reals), P B d^n x 8 the populations it returns.

Examples (d = 3): 5 qubits, density, a 20-angle ansatz: 41 x 16 x 16 x 3^10 B = 620 MB of states,
2.5 GB peak; 8 qubits, one density matrix: 16 x 3^16 = 690 MB (2.8 GB peak); 8 qubits, statevector:
105 kB per state.

Gradients. A parameter-shift gradient is a run of P = 2 m + 1 sets (above). The adjoint gradients
(:meth:`Executor.vjp`: pure-state adjoint on exact rotations, Liouville-space adjoint on density matrices,
both with exact expectations) run ONE set and keep, per sample, the register, its cotangent and, on
density matrices, the register before every single-qubit operation after the first block (K of them,
K = sum over rotation blocks but the first of the qubits they act on): measured 6.6-6.7 registers per
sample (pure, 8 qubits) and K + 3.1 ... K + 3.6 (density, 4-5 qubits, K = 4-8), hence per sample

    adjoint peak = ADJOINT_PURE (= 7) S   (pure),      (K + WORK_FACTOR) S   (density).

:func:`gradient_method` tells which one a trainer will use (``loss_and_grad``'s ``auto`` rule), and
:func:`estimate_gradient` gives the estimate of one step.

Chunking. P x B registers are independent: :class:`ChunkedExecutor` splits the sample axis (then, when
even one sample of every parameter set does not fit, the parameter-set axis) so that each call's peak
fits the memory limit and holds at most CACHE_CHUNK_BYTES of registers (a cache-sized call is faster),
and writes each chunk's populations into one output array. Readout (assignment errors, shots) is applied
to the whole output afterwards, so chunking changes neither the numbers nor the random draws. ``vjp`` (the
adjoint gradients) is chunked along the samples: the gradient of sum_b w_b E_b is linear in the batch, so
the chunks' gradients add up exactly; a loss cotangent given as a function of E is evaluated once on the
whole batch's E (one chunked forward run) before the chunks. When even ONE register does not fit, the run
is refused before allocating, with the estimate (CryoctlError, field ``memory``). The limit is the gates
layer's (:func:`cryoctl.gates.plan.memory_limit`): $CRYOCTL_MEMORY_LIMIT_GB (GB = 1e9 bytes), else the
memory available now.

Time. Element operations per register (size S = d^n pure, d^(2n) density): the product state of the
first block 2 S; a fused single-qubit operation S (d + 4) on a pure state (matmul plus the copies around
it), a superoperator S (d^2 + 4) on a density matrix; a diagonal CZ block one pass S, a depolarized CZ
three; a realized CZ S d^2 (pure), 2 S d^2 (unitary on a density matrix) or S d^4 (channel). Times
SECONDS_PER_OP = 15 ns (measured on this project's shared 2-core runners: 3-26 ns per operation from run to run, e.g.
a 5-qubit d = 3 density register of ``hea:2`` with depolarizing CZs ~60 ms, an 8-qubit d = 3 pure one
~2 ms) gives the estimate: an order of magnitude, not a benchmark.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cryoctl.circuit.description import Circuit, Rot
from cryoctl.circuit.entangler import IdealCZ, RealizedCZ
from cryoctl.circuit.executor import Executor
from cryoctl.circuit.simulate import circuit_blocks
from cryoctl.errors import CryoctlError
from cryoctl.gates.plan import _fmt_bytes, _fmt_seconds, memory_limit

WORK_FACTOR = 4.25
#: a forward run's registers per call, in bytes, even when memory holds more: each register goes through
#: every block while it is still in cache (4-qubit d = 3 density registers, 105 kB each: the 504 training
#: samples of digits in calls of 32-64 run 1.6x faster than in one call; the numbers are the same)
CACHE_CHUNK_BYTES = 4 * 2**20
ADJOINT_PURE = 7.0
SECONDS_PER_OP = 15e-9
MODES = ("statevector", "density")


def state_bytes(n_qubits: int, levels: int, mode: str) -> int:
    """Bytes of one register: 16 d^n (statevector) or 16 d^(2n) (density matrix)."""
    if mode not in MODES:
        raise CryoctlError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}", field="mode")
    return 16 * int(levels) ** (int(n_qubits) * (2 if mode == "density" else 1))


def register_ops(circuit: Circuit, levels: int, mode: str, entangler=None) -> int:
    """Element operations to run ``circuit`` on ONE register (module docstring, 'Time')."""
    n, d = circuit.n_qubits, int(levels)
    dim = d**n
    density = mode == "density"
    size = dim * dim if density else dim
    noisy_cz = bool(getattr(entangler, "noisy", False))
    realized = isinstance(entangler, RealizedCZ)
    ops, first = 0, True
    for kind, items in circuit_blocks(circuit):
        if kind == "rot":
            qubits = {g.qubit for g in items if isinstance(g, Rot)}
            if first:  # the first block builds the product state directly: ~2 passes
                ops += 2 * size
            else:
                ops += len(qubits) * size * ((d * d + 4) if density else (d + 4))
        elif realized:
            per = (size * d**4 if noisy_cz else 2 * size * d * d) if density else size * d * d
            ops += len(items) * per
        else:
            ops += len(items) * 3 * size if noisy_cz else size
        first = False
    return int(ops)


@dataclass(frozen=True)
class RunEstimate:
    """Memory and time of P x B registers of one circuit (module docstring); ``chunk``: registers per
    call so that a call's peak fits ``limit_bytes`` (0: not even one fits)."""

    what: str
    n_qubits: int
    levels: int
    mode: str
    P: int
    B: int
    state_bytes: int
    peak_bytes: int
    chunk: int
    calls: int
    seconds: float
    limit_bytes: int | None
    limit_source: str

    @property
    def registers(self) -> int:
        return self.P * self.B

    @property
    def fits(self) -> bool:
        return self.chunk >= 1

    @property
    def states_bytes(self) -> int:
        return self.registers * self.state_bytes

    def describe(self) -> str:
        """One line: what, the registers, their bytes, the peak, the chunking and the time."""
        shape = "d^(2n)" if self.mode == "density" else "d^n"
        line = (f"{self.what}: {self.P} parameter sets x {self.B} samples of {self.n_qubits}-qubit d={self.levels} "
                f"{self.mode} ({shape} x 16 B = {_fmt_bytes(self.state_bytes)} each): states "
                f"{_fmt_bytes(self.states_bytes)}, peak ~{_fmt_bytes(self.peak_bytes)}")
        if self.limit_bytes is not None:
            line += f" (limit {_fmt_bytes(self.limit_bytes)}, {self.limit_source})"
        if self.fits and self.calls > 1:
            line += f", in {self.calls} chunks of {self.chunk} registers"
        return line + f", ~{_fmt_seconds(self.seconds)}"

    def check(self) -> "RunEstimate":
        """Raise CryoctlError(field="memory") with the estimate when not even one register fits."""
        if not self.fits:
            raise CryoctlError(f"does not fit in memory: {self.describe()}; one register alone needs "
                               f"~{_fmt_bytes(self.peak_bytes)}: use fewer qubits or levels, a "
                               "unitary profile (statevector), or set CRYOCTL_MEMORY_LIMIT_GB", field="memory")
        return self

    def as_dict(self) -> dict:
        return {**asdict(self), "states_bytes": self.states_bytes, "fits": self.fits}


def estimate_run(circuit: Circuit, levels: int, mode: str, P: int, B: int, *, entangler=None,
                 limit_bytes: int | None = None, what: str = "run", work_factor: float = WORK_FACTOR,
                 passes: float = 1.0) -> RunEstimate:
    """:class:`RunEstimate` of P parameter sets x B samples (``limit_bytes`` default: the memory limit).

    peak(k registers per call) = w k S + S + P B d^n 8 (S = :func:`state_bytes`, w = ``work_factor``,
    default WORK_FACTOR); the chunk is the largest k <= P B whose peak fits the limit (P B without a known
    limit). ``passes``: the run's time in forward runs (an adjoint gradient ~3).
    """
    P, B = int(P), int(B)
    if P < 1 or B < 1:
        raise CryoctlError(f"expected at least one parameter set and one sample, got P={P}, B={B}", field="batch")
    n, d = circuit.n_qubits, int(levels)
    s = state_bytes(n, d, mode)
    pops = P * B * d**n * 8
    if limit_bytes is None:
        limit, source = memory_limit()
    else:
        limit, source = int(limit_bytes), "limit"
    total = P * B
    chunk = total if limit is None else int(max(0, min(total, (limit - pops - s) // (work_factor * s))))
    calls = -(-total // chunk) if chunk else 0
    peak = int(work_factor * (chunk if chunk else 1) * s) + s + pops
    seconds = passes * total * register_ops(circuit, d, mode, entangler) * SECONDS_PER_OP
    return RunEstimate(what, n, d, mode, P, B, s, int(peak), chunk, calls, float(seconds), limit, source)


def shift_sets(circuit: Circuit) -> int:
    """Parameter sets of one parameter-shift gradient: 2 m + 1."""
    return 2 * circuit.n_params + 1


def recorded_ops(circuit: Circuit) -> int:
    """K: single-qubit operations after the first rotation block, one per (block, qubit) (fused)."""
    blocks = [items for kind, items in circuit_blocks(circuit) if kind == "rot"]
    first_is_rot = bool(circuit.gates) and isinstance(circuit.gates[0], Rot)
    return sum(len({g.qubit for g in items}) for items in blocks[1 if first_is_rot else 0:])


def gradient_method(mode: str, *, exact_rotations: bool, shots: int | None, entangler=None) -> str:
    """The gradient ``loss_and_grad(method="auto")`` takes: ``adjoint`` with exact expectations (no shots)
    on pure states of exact rotations or on density matrices (ideal or realized CZ), else ``shift``."""
    if shots is not None:
        return "shift"
    if mode == "statevector":
        return "adjoint" if exact_rotations else "shift"
    return "adjoint" if entangler is None or isinstance(entangler, (IdealCZ, RealizedCZ)) else "shift"


def estimate_gradient(circuit: Circuit, levels: int, mode: str, B: int, method: str, *, P: int = 1,
                      entangler=None, limit_bytes: int | None = None) -> RunEstimate:
    """Estimate of one gradient step over B samples: ``shift`` = (2 m + 1) sets x B registers, ``adjoint``
    = P sets (trainers: one) with the per-register adjoint peak (module docstring, 'Gradients')."""
    if method == "shift":
        return estimate_run(circuit, levels, mode, shift_sets(circuit), B, entangler=entangler,
                            limit_bytes=limit_bytes, what="gradient step (parameter shift)")
    if method != "adjoint":
        raise CryoctlError(f"unknown gradient method {method!r}; expected shift or adjoint", field="gradient")
    factor = ADJOINT_PURE if mode == "statevector" else recorded_ops(circuit) + WORK_FACTOR
    return estimate_run(circuit, levels, mode, P, B, entangler=entangler, limit_bytes=limit_bytes,
                        what="gradient step (adjoint)", work_factor=factor, passes=3.0)


class ChunkedExecutor(Executor):
    """An :class:`Executor` whose runs are checked against the memory limit and chunked to fit.

    ``populations`` (hence ``expect`` and ``shift_jacobian``) splits the P x B registers into calls of
    at most ``estimate(...).chunk`` registers: along the samples first (every parameter set, B_c samples),
    then along the parameter sets (one sample, P_c sets). A run where one register does not fit raises
    CryoctlError(field="memory") before anything is allocated. ``memory_limit_bytes``: fixed limit (bytes);
    default the gates layer's limit, read at each call.
    """

    def __init__(self, provider, *, memory_limit_bytes: int | None = None, **kwargs):
        super().__init__(provider, **kwargs)
        self.memory_limit_bytes = memory_limit_bytes

    def estimate(self, circuit: Circuit, P: int = 1, B: int = 1, what: str = "run") -> RunEstimate:
        return estimate_run(circuit, self.provider.levels, self.mode, P, B, entangler=self.entangler,
                            limit_bytes=self.memory_limit_bytes, what=what)

    def gradient_estimate(self, circuit: Circuit, B: int, P: int = 1) -> RunEstimate:
        """Estimate of the adjoint gradient (``vjp``) of P sets x B samples on this executor."""
        return estimate_gradient(circuit, self.provider.levels, self.mode, B, "adjoint", P=P,
                                 entangler=self.entangler, limit_bytes=self.memory_limit_bytes)

    def vjp(self, circuit: Circuit, x, params, weights):
        """:meth:`Executor.vjp`, chunked along the samples when the whole batch does not fit (module
        docstring); refused (field ``memory``) when one sample does not."""
        x, params = self._prepare(circuit, x, params)
        B = x.shape[0]
        est = self.gradient_estimate(circuit, B, params.shape[0]).check()
        if est.calls <= 1 or params.shape[0] != 1:
            return super().vjp(circuit, x, params, weights)
        e = None
        if callable(weights):  # the loss cotangent of the whole batch, from one (chunked) forward run
            e = self.expect(circuit, x, params)
            weights = weights(e)
        w = np.broadcast_to(np.asarray(weights, dtype=float), (1, B, circuit.n_qubits))
        b = est.chunk
        parts, grad = [], 0.0
        for lo in range(0, B, b):
            e_c, g_c = super().vjp(circuit, x[lo: lo + b], params, w[:, lo: lo + b])
            parts.append(e_c)
            grad = grad + g_c
        return np.concatenate(parts, axis=1) if e is None else e, grad

    def line_expectations(self, circuit: Circuit, x, params, k: int, candidates) -> np.ndarray:
        """:meth:`Executor.line_expectations`, chunked along the samples: per sample the forward register,
        the n backward observables and the work arrays (refused, field ``memory``, when one does not fit)."""
        x, params = self._prepare(circuit, x, params)
        B = x.shape[0]
        est = estimate_run(circuit, self.provider.levels, self.mode, 1, B, entangler=self.entangler,
                           limit_bytes=self.memory_limit_bytes, what="line search",
                           work_factor=circuit.n_qubits + WORK_FACTOR, passes=1.0 + circuit.n_qubits).check()
        if est.calls <= 1:
            return super().line_expectations(circuit, x, params, k, candidates)
        return np.concatenate([super().line_expectations(circuit, x[lo: lo + est.chunk], params, k, candidates)
                               for lo in range(0, B, est.chunk)], axis=1)

    def line_sweep(self, circuit: Circuit, x, params, pick, coords=None):
        """:meth:`Executor.line_sweep` when its recorded states (one per parameter operation), the n backward
        observables and the work arrays of all samples fit at once; None when they do not (a sweep decides on
        the loss of every sample, so it cannot be chunked: the caller then goes coordinate by coordinate)."""
        x, params = self._prepare(circuit, x, params)
        est = estimate_run(circuit, self.provider.levels, self.mode, 1, x.shape[0], entangler=self.entangler,
                           limit_bytes=self.memory_limit_bytes, what="line sweep",
                           work_factor=recorded_ops(circuit) + 2 * circuit.n_qubits + WORK_FACTOR)
        if est.calls != 1:
            return None
        return super().line_sweep(circuit, x, params, pick, coords)

    def populations(self, circuit: Circuit, x=None, params=None) -> np.ndarray:
        x, params = self._prepare(circuit, x, params)
        P, B = params.shape[0], x.shape[0]
        est = self.estimate(circuit, P, B, what="circuit run").check()
        # at most CACHE_CHUNK_BYTES of registers per call, even when more would fit in memory
        chunk = min(est.chunk, max(1, CACHE_CHUNK_BYTES // est.state_bytes))
        if chunk >= P * B:
            return super().populations(circuit, x, params)
        d, n = self.provider.levels, circuit.n_qubits
        out = np.empty((P, B) + (d,) * n)
        if chunk >= P:  # every parameter set, b samples per call
            b = chunk // P
            for lo in range(0, B, b):
                out[:, lo: lo + b] = super().populations(circuit, x[lo: lo + b], params)
        else:  # one sample, p parameter sets per call
            p = chunk
            for j in range(B):
                for lo in range(0, P, p):
                    out[lo: lo + p, j: j + 1] = super().populations(circuit, x[j: j + 1], params[lo: lo + p])
        return out
