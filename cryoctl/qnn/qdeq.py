"""Quantum deep equilibrium models (QDEQ, Schleich et al., NeurIPS 2024) on the emulated control stack.

The model's output is the fixed point of a shallow circuit, not the output of a deep one:

    z* = f_theta(x, z*),     f_theta(x, z)_q = <Z_q> read out after the cell C(x, z; theta),

where the cell on n qubits is ONE layer (``cell_circuit``)

    per qubit q:  RY(x_q) . RX(s z_q) . RZ(theta_q0) . RY(theta_q1);   CZ ring;   per qubit q: RY(theta_q2)

(m = 3 n trainable angles). The state z (n numbers in [-1, 1]) is re-encoded as the angles s z_q of
an RX on each qubit (``z_scale`` = s, a fixed classical readout map z -> angle); x is injected at
every iteration. Both x and s z are data angles: on quantized providers they go through the DAC
(encoded into codes by the provider, like every data angle), so on a b-bit DAC f is piecewise constant
in z and a fixed point is a fixed CELL: the solver either lands in a cell whose image lies in the same
cell (residual exactly 0 there) or cycles between cells (no convergence).
Classification: logit_c = scale * z*_(c mod n), softmax cross-entropy (as :class:`~cryoctl.qnn.QNNModel`).

Solver (:func:`anderson`, batched over samples, each sample its own least-squares mixing): Anderson
acceleration of memory ``memory`` (0: plain fixed-point iteration) and damping ``beta``. Iterate
x_k, residual g_k = f(x_k) - x_k; with the differences dG, dX of the last ``memory`` + 1 pairs,
gamma = argmin ||g_k - dG gamma||_2 (pseudo-inverse, singular values below ``rcond`` x the largest
dropped: repeated iterates of a piecewise-constant map give zero columns), then
x_(k+1) = x_k + beta g_k - (dX + beta dG) gamma (Walker & Ni's form of alpha = argmin ||sum alpha_i
g_i||, sum alpha_i = 1, x_(k+1) = sum alpha_i (x_i + beta g_i)). A sample has converged when
||g_k||_inf <= ``tol``; it is then frozen (no more circuits run for it) and its output is f(x_k), the last read-out. A sample that
has not converged after ``max_iter`` evaluations of f is a failure: :class:`~cryoctl.errors.CryoctlError`
(``on_fail="raise"``, default) or kept, flagged, at its last read-out (``on_fail="keep"``).

Implicit gradient. With J_z = df/dz and J_theta = df/dtheta at z*, z* = f(z*) gives
dz*/dtheta = (I - J_z)^-1 J_theta, so for L(z*)

    dL/dtheta = v^T J_theta,        (I - J_z)^T v = dL/dz*          (one n x n solve per sample).

J_z (n x n per sample) comes from the shift rule on the z-encoding gates (each s z_j drives one RX:
df/dz_j = s [f(phi_j + pi/2) - f(phi_j - pi/2)] / 2, exact for exact rotations on the computational
levels, 2 n extra circuits per sample); v^T J_theta is the executor's adjoint VJP with weights v on
exact / ideally quantized gates, else its code-grid parameter shift (2 m + 1 circuits per sample).
Nothing is backpropagated through the solver's iterations.

Contraction factor: the spectral radius rho(J_z) at z* (the local rate of plain fixed-point
iteration; rho < 1 means z* is attracting). On a quantized provider J_z is the derivative of the exact
rotations at the played (quantized) angles, i.e. of the map the DAC grid samples.

Baseline (:class:`ExplicitReupload`): the same cell without z, stacked D times coherently with TIED
weights (data re-uploading: x is injected in every layer), so it has the same m = 3 n parameters at
every depth D and D = 1 is the QDEQ cell at z = 0. Its gradient is the sum over the D copies of each
parameter: the adjoint, or the parameter shift applied to every copy separately (2 D m + 1 circuits
per sample on hardware; shifting all copies at once would not be exact).

Training (:func:`train_model`): Adam on the angle gradient; on a quantized provider the parameters
are integer codes moved by stochastic rounding (:func:`cryoctl.qnn.train.code_moves`, temperature 1),
on exact gates they are float angles. Circuit evaluations are counted per (parameter set, sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cryoctl.circuit.description import Circuit, Rot, ring
from cryoctl.errors import CryoctlError
from cryoctl.qnn.models import softmax
from cryoctl.qnn.train import code_moves

ON_FAIL = ("raise", "keep")


# ---------------------------------------------------------------------------------------- circuits
def _layer(n: int, x_col: int | None, z_col: int | None, p_base: int) -> list:
    gates: list = []
    for q in range(n):
        if x_col is not None:
            gates.append(Rot("y", q, "x", x_col + q))
        if z_col is not None:
            gates.append(Rot("x", q, "x", z_col + q))
        gates.append(Rot("z", q, "p", p_base + 3 * q))
        gates.append(Rot("y", q, "p", p_base + 3 * q + 1))
    gates.extend(ring(n))
    gates.extend(Rot("y", q, "p", p_base + 3 * q + 2) for q in range(n))
    return gates


def cell_circuit(n_qubits: int) -> Circuit:
    """The QDEQ cell: inputs 0..n-1 are x, inputs n..2n-1 the z angles s z; 3 n parameters."""
    return Circuit(n_qubits, tuple(_layer(n_qubits, 0, n_qubits, 0)))


def explicit_circuit(n_qubits: int, depth: int) -> Circuit:
    """D re-uploading layers, each copy of a parameter its own index (k + 3 n layer): the untied form."""
    gates: list = []
    for layer in range(depth):
        gates.extend(_layer(n_qubits, 0, None, 3 * n_qubits * layer))
    return Circuit(n_qubits, tuple(gates))


# ---------------------------------------------------------------------------------------- solver
@dataclass(frozen=True)
class SolverConfig:
    tol: float = 1e-6  # on ||f(z) - z||_inf
    max_iter: int = 40  # evaluations of f per sample
    memory: int = 5  # Anderson memory (0: plain fixed-point iteration)
    beta: float = 1.0  # damping
    rcond: float = 1e-12  # singular values of the residual differences below rcond * largest are dropped
    on_fail: str = "raise"

    def __post_init__(self):
        if not self.tol > 0:
            raise CryoctlError(f"expected a positive tolerance, got {self.tol}", field="qdeq.tol")
        if int(self.max_iter) != self.max_iter or self.max_iter < 1:
            raise CryoctlError(f"expected an iteration cap >= 1, got {self.max_iter}", field="qdeq.max_iter")
        if int(self.memory) != self.memory or self.memory < 0:
            raise CryoctlError(f"expected an Anderson memory >= 0, got {self.memory}", field="qdeq.memory")
        if not 0 < self.beta <= 1:
            raise CryoctlError(f"expected a damping in (0, 1], got {self.beta}", field="qdeq.beta")
        if self.on_fail not in ON_FAIL:
            raise CryoctlError(f"unknown on_fail {self.on_fail!r}; expected one of {', '.join(ON_FAIL)}",
                               field="qdeq.on_fail")


@dataclass
class FixedPoint:
    z: np.ndarray  # (B, n): the last read-out f(x_k) of every sample
    residual: np.ndarray  # (B,): ||f(x_k) - x_k||_inf
    iterations: np.ndarray  # (B,): evaluations of f until convergence (max_iter if not converged)
    converged: np.ndarray  # (B,) bool

    @property
    def evaluations(self) -> int:
        return int(self.iterations.sum())


def anderson(f, z0: np.ndarray, config: SolverConfig = SolverConfig()) -> FixedPoint:
    """Batched Anderson fixed-point solve of z = f(z) (module docstring). ``f(z, rows)`` maps the
    iterates ``z`` (k, n) of the still-active samples ``rows`` (k,) to f (k, n)."""
    cfg = config
    z0 = np.asarray(z0, dtype=float)
    B, n = z0.shape
    mem = cfg.memory + 1
    xs = np.zeros((B, mem, n))
    gs = np.zeros((B, mem, n))
    out = np.zeros((B, n))
    residual = np.full(B, np.inf)
    iterations = np.full(B, cfg.max_iter, dtype=np.int64)
    converged = np.zeros(B, dtype=bool)
    x = z0.copy()
    active = np.arange(B)
    for k in range(cfg.max_iter):
        fx = np.asarray(f(x[active], active), dtype=float)
        g = fx - x[active]
        r = np.abs(g).max(axis=1)
        out[active], residual[active] = fx, r
        done = r <= cfg.tol
        iterations[active[done]] = k + 1
        converged[active[done]] = True
        slot = k % mem
        xs[active, slot], gs[active, slot] = x[active], g
        keep = ~done
        active = active[keep]
        if active.size == 0 or k == cfg.max_iter - 1:
            break
        mk = min(k + 1, mem)
        if mk == 1:
            x[active] = x[active] + cfg.beta * g[keep]
            continue
        order = [(k - mk + 1 + i) % mem for i in range(mk)]  # oldest .. newest
        dg = np.diff(gs[active][:, order], axis=1)  # (a, mk - 1, n)
        dx = np.diff(xs[active][:, order], axis=1)
        gk = g[keep]
        gamma = np.einsum("ain,an->ai", np.linalg.pinv(np.swapaxes(dg, 1, 2), rcond=cfg.rcond), gk)
        x[active] = x[active] + cfg.beta * gk - np.einsum("ai,ain->an", gamma, dx + cfg.beta * dg)
    return FixedPoint(out, residual, iterations, converged)


# ---------------------------------------------------------------------------------------- models
class _Counter:
    """Circuit evaluations run, counted per (parameter set, sample)."""

    def __init__(self):
        self.evaluations = 0

    def expect(self, executor, circuit, x, params):
        x = np.atleast_2d(x)
        p = np.asarray(params)
        self.evaluations += (p.shape[0] if p.ndim == 2 else 1) * x.shape[0]
        return executor.expect(circuit, x, params)


def loss_and_dz(z, y, n_classes, scale):
    """Mean softmax cross-entropy of logits scale * z[:, c mod n] and dL/dz (B, n)."""
    n = z.shape[-1]
    cq = np.arange(n_classes) % n
    p = softmax(scale * z[:, cq])
    m = len(y)
    loss = float(-np.log(np.clip(p[np.arange(m), y], 1e-300, None)).mean())
    dlogit = (p - np.eye(n_classes)[y]) / m
    dz = np.zeros_like(z)
    for c, q in enumerate(cq):
        dz[:, q] += scale * dlogit[:, c]
    return loss, dz


@dataclass
class QDEQ:
    """Quantum deep equilibrium classifier (module docstring): z* = f(x, z*) of one circuit cell."""

    n_qubits: int = 4
    n_classes: int = 4
    z_scale: float = 1.0
    scale: float = 5.0
    solver: SolverConfig = field(default_factory=SolverConfig)
    counter: _Counter = field(default_factory=_Counter, repr=False)

    def __post_init__(self):
        if self.n_classes < 2:
            raise CryoctlError(f"expected at least 2 classes, got {self.n_classes}", field="n_classes")
        self.circuit = cell_circuit(self.n_qubits)

    label = "qdeq"
    depth = 1

    @property
    def n_params(self) -> int:
        return 3 * self.n_qubits

    def expand(self, params) -> np.ndarray:
        return np.asarray(params)

    def inputs(self, x, z) -> np.ndarray:
        return np.hstack([np.atleast_2d(x), self.z_scale * z])

    def f(self, executor, x, params, z) -> np.ndarray:
        """One cell evaluation: read-out <Z> (B, n) for inputs x (B, n) and states z (B, n)."""
        return self.counter.expect(executor, self.circuit, self.inputs(x, z), np.asarray(params)[None])[0]

    def solve(self, executor, x, params, z0=None, solver: SolverConfig | None = None) -> FixedPoint:
        """The fixed points z* (B, n) of every sample (raises on non-convergence unless on_fail='keep')."""
        cfg = solver or self.solver
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[1] != self.n_qubits:
            raise CryoctlError(f"expected {self.n_qubits} input angles per sample, got {x.shape[1]}", field="x")
        z0 = np.zeros((len(x), self.n_qubits)) if z0 is None else np.asarray(z0, dtype=float)
        fp = anderson(lambda z, rows: self.f(executor, x[rows], params, z), z0, cfg)
        if cfg.on_fail == "raise" and not fp.converged.all():
            bad = ~fp.converged
            raise CryoctlError(
                f"fixed point not found for {int(bad.sum())} of {len(bad)} samples: residual ||f(z) - z||_inf up "
                f"to {fp.residual[bad].max():.3g} > tol {cfg.tol:g} after {cfg.max_iter} iterations (Anderson "
                f"memory {cfg.memory}, damping {cfg.beta:g}); the map may not be contractive (lower z_scale), "
                "or cycles between DAC cells; raise max_iter / tol or use on_fail='keep'", field="qdeq.solver")
        return fp

    def jacobian_z(self, executor, x, params, z) -> np.ndarray:
        """J_z (B, n, n), [b, q, j] = d f_q / d z_j, by the shift rule on the z-encoding RX gates."""
        B, n = z.shape
        inp = self.inputs(x, z)
        shifted = np.repeat(inp[None], 2 * n, axis=0)  # (2n, B, 2n)
        j = np.arange(n)
        shifted[j, :, n + j] += np.pi / 2
        shifted[n + j, :, n + j] -= np.pi / 2
        e = self.counter.expect(executor, self.circuit, shifted.reshape(2 * n * B, 2 * n),
                                np.asarray(params)[None])[0].reshape(2, n, B, n)
        return self.z_scale * np.transpose((e[0] - e[1]) / 2, (1, 2, 0))

    def vjp_params(self, executor, inputs, params, weights, rng=None) -> np.ndarray:
        """sum_(b,q) w_bq d f_q(b) / d theta (m,) at fixed inputs (x, s z*)."""
        params = np.asarray(params)
        if executor.can_adjoint:
            self.counter.evaluations += 2 * len(inputs)  # one forward and one backward sweep per sample
            return executor.adjoint_vjp(self.circuit, inputs, params[None], weights[None])[1][0]
        self.counter.evaluations += (2 * self.n_params + 1) * len(inputs)
        _, jac = executor.shift_jacobian(self.circuit, inputs, params[None], rng)
        return np.einsum("mbn,bn->m", jac, weights)

    def loss_and_grad(self, executor, x, y, params, rng=None):
        """(loss, dL/dtheta (m,), info) by the implicit-function gradient at the solved fixed point."""
        fp = self.solve(executor, x, params)
        loss, g = loss_and_dz(fp.z, y, self.n_classes, self.scale)
        jz = self.jacobian_z(executor, x, params, fp.z)
        eye = np.eye(self.n_qubits)
        v = np.linalg.solve(np.swapaxes(eye - jz, 1, 2), g[..., None])[..., 0]
        grad = self.vjp_params(executor, self.inputs(x, fp.z), params, v, rng)
        return loss, grad, {"fixed_point": fp, "jz": jz}

    def forward(self, executor, x, params, solver: SolverConfig | None = None):
        """(z (B, n), info) for inference."""
        fp = self.solve(executor, x, params, solver=solver)
        return fp.z, {"fixed_point": fp}

    def loss(self, executor, x, y, params) -> float:
        return loss_and_dz(self.solve(executor, x, params).z, y, self.n_classes, self.scale)[0]

    def predict(self, z) -> np.ndarray:
        return np.argmax(z[:, np.arange(self.n_classes) % self.n_qubits], axis=1)


@dataclass
class ExplicitReupload:
    """Explicit baseline: the QDEQ cell without z, D layers deep, weights tied across layers (module
    docstring): the same 3 n parameters at every depth."""

    depth: int = 1
    n_qubits: int = 4
    n_classes: int = 4
    scale: float = 5.0
    counter: _Counter = field(default_factory=_Counter, repr=False)

    def __post_init__(self):
        if int(self.depth) != self.depth or self.depth < 1:
            raise CryoctlError(f"expected a depth >= 1, got {self.depth}", field="depth")
        self.circuit = explicit_circuit(self.n_qubits, self.depth)

    @property
    def label(self) -> str:
        return f"explicit-D{self.depth}"

    @property
    def n_params(self) -> int:
        return 3 * self.n_qubits

    def expand(self, params) -> np.ndarray:
        """Tied parameters (m,) -> the untied circuit's (D m,): one copy per layer."""
        return np.tile(np.asarray(params), self.depth)

    def forward(self, executor, x, params, solver=None):
        return self.counter.expect(executor, self.circuit, x, self.expand(params)[None])[0], {}

    def loss_and_grad(self, executor, x, y, params, rng=None):
        full = self.expand(params)
        m = self.n_params
        if executor.can_adjoint:
            z = self.counter.expect(executor, self.circuit, x, full[None])[0]
            loss, g = loss_and_dz(z, y, self.n_classes, self.scale)
            self.counter.evaluations += len(x)  # the backward sweep
            grad = executor.adjoint_vjp(self.circuit, x, full[None], g[None])[1][0]
        else:
            self.counter.evaluations += (2 * full.size + 1) * len(x)
            z, jac = executor.shift_jacobian(self.circuit, x, full[None], rng)
            loss, g = loss_and_dz(z, y, self.n_classes, self.scale)
            grad = np.einsum("mbn,bn->m", jac, g)
        return loss, grad.reshape(self.depth, m).sum(axis=0), {}

    def loss(self, executor, x, y, params) -> float:
        return loss_and_dz(self.forward(executor, x, params)[0], y, self.n_classes, self.scale)[0]

    def predict(self, z) -> np.ndarray:
        return np.argmax(z[:, np.arange(self.n_classes) % self.n_qubits], axis=1)


# ---------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class QDEQTrainConfig:
    epochs: int = 3
    batch_size: int = 16
    lr: float = 0.1
    seed: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        if self.epochs < 0 or self.batch_size < 1 or not self.lr > 0:
            raise CryoctlError("expected epochs >= 0, batch_size >= 1 and lr > 0", field="qdeq.train")


def encode_angles(model, executor, angles):
    """Angles (m,) -> what the executor plays for the model's parameters (codes on a quantized provider,
    per channel; the angles on exact gates)."""
    full = model.expand(angles)
    played = executor.encode_params(model.circuit, full) if executor.quantized else full
    return played[: model.n_params]


def _steps(model, executor) -> np.ndarray:
    return executor.param_steps(model.circuit)[: model.n_params]


def _wrap(model, executor, codes):
    return executor.wrap_codes(model.circuit, model.expand(codes))[: model.n_params]


def train_model(model, dataset, executor, config: QDEQTrainConfig = QDEQTrainConfig(), init_angles=None) -> dict:
    """Train a :class:`QDEQ` or :class:`ExplicitReupload` (module docstring). Returns {"params" (what
    the executor plays), "losses" (per step), "train_evaluations" (circuits run per training sample and
    step, the adjoint counted as 2), "train_iterations" (QDEQ: mean solver iterations), "shift_cost"
    (:func:`shift_rule_cost`)}. A QDEQ in training keeps going past non-converged samples (its solver's on_fail is
    forced to 'keep': their gradient is taken at the last iterate)."""
    cfg = config
    rng = np.random.default_rng(cfg.seed)
    m = model.n_params
    theta = rng.uniform(-np.pi, np.pi, m) if init_angles is None else np.asarray(init_angles, dtype=float)
    if isinstance(model, QDEQ):
        model.solver = SolverConfig(**{**model.solver.__dict__, "on_fail": "keep"})
    params = encode_angles(model, executor, theta)
    step = _steps(model, executor) if executor.quantized else None
    mom, vel, t = np.zeros(m), np.zeros(m), 0
    losses, iters = [], []
    start = model.counter.evaluations
    seen = 0
    x, y = dataset.x_train, dataset.y_train
    for _ in range(cfg.epochs):
        order = rng.permutation(len(y))
        for s in range(0, len(y), cfg.batch_size):
            idx = order[s: s + cfg.batch_size]
            loss, g, info = model.loss_and_grad(executor, x[idx], y[idx], params, rng)
            if "fixed_point" in info:
                iters.append(info["fixed_point"].iterations.mean())
            seen += len(idx)
            losses.append(loss)
            t += 1
            mom = cfg.beta1 * mom + (1 - cfg.beta1) * g
            vel = cfg.beta2 * vel + (1 - cfg.beta2) * g * g
            delta = -cfg.lr * (mom / (1 - cfg.beta1**t)) / (np.sqrt(vel / (1 - cfg.beta2**t)) + cfg.eps)
            if executor.quantized:
                params = _wrap(model, executor, params + code_moves(delta / step, "stochastic", 1.0, rng))
            else:
                params = params + delta
    return {"params": params, "losses": losses,
            "train_evaluations": (model.counter.evaluations - start) / max(seen, 1),
            "train_iterations": float(np.mean(iters)) if iters else None,
            "shift_cost": shift_rule_cost(model, float(np.mean(iters)) if iters else 0.0)}


def shift_rule_cost(model, iterations: float = 0.0) -> float:
    """Circuits per training sample and step when every derivative is a parameter shift (hardware):
    QDEQ: the solver's iterations + 2 n (J_z) + 2 m + 1 (J_theta); explicit: 2 D m + 1 (every copy of a
    tied parameter shifted on its own)."""
    if isinstance(model, QDEQ):
        return iterations + 2 * model.n_qubits + 2 * model.n_params + 1
    return 2 * model.depth * model.n_params + 1


def evaluate(model, executor, x, y, params, solver: SolverConfig | None = None, jacobian_samples: int = 64) -> dict:
    """Accuracy, loss, circuits per sample, and (QDEQ) the fixed point's behaviour on a split: solver
    iterations, residuals, fraction not converged (``solver`` default: the model's, on_fail='keep'), and
    the contraction factor rho(J_z) at z* of the first ``jacobian_samples`` samples (a diagnostic, not
    counted as inference circuits)."""
    start = model.counter.evaluations
    if isinstance(model, QDEQ):
        cfg = solver or SolverConfig(**{**model.solver.__dict__, "on_fail": "keep"})
        z, info = model.forward(executor, x, params, solver=cfg)
    else:
        z, info = model.forward(executor, x, params)
    loss, _ = loss_and_dz(z, y, model.n_classes, model.scale)
    out = {"accuracy": float(np.mean(model.predict(z) == y)), "loss": loss,
           "circuits_per_sample": (model.counter.evaluations - start) / len(y),
           "layers_per_sample": (model.counter.evaluations - start) * model.depth / len(y)}
    if isinstance(model, QDEQ):
        fp = info["fixed_point"]
        k = min(len(y), jacobian_samples)
        jz = model.jacobian_z(executor, x[:k], params, fp.z[:k])
        rho = np.abs(np.linalg.eigvals(jz)).max(axis=1)
        out.update({"iterations": float(fp.iterations.mean()), "residual_median": float(np.median(fp.residual)),
                    "residual_max": float(fp.residual.max()), "fail_frac": float(1 - fp.converged.mean()),
                    "contraction": float(rho.mean()), "contraction_max": float(rho.max())})
        model.counter.evaluations -= 2 * model.n_qubits * k  # the diagnostic Jacobian is not inference
    return out
