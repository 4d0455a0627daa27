"""Trainers beyond the seed study: ``latent``, ``linesearch`` and ``anneal`` (all hold DAC codes).

The seed trainers (:mod:`cryoctl.qnn.train`) move codes by a rounded (``round``) or randomly rounded
(``stochastic``) gradient step. At 4 bits one code is 2 pi / 16 = 0.39 rad, far larger than an Adam
step (~lr = 0.05): ``round`` freezes (gradient deadlock) and ``stochastic`` is a high-variance walk
whose final iterate is heavy-tailed across seeds. The three trainers here attack that from three
sides. Each one only ever asks the executor to play codes of the grid (``executor.encode_params`` /
``executor.wrap_codes``); all start from the seed's theta_0 ~ U[-pi, pi) like the seed trainers (or from
``init_angles`` rounded onto the grid: the study's ``init: float`` passes the float model, so training starts at
its post-training quantization; with 0 epochs only the polish below runs) and
log the same history (loss, train / test accuracy, ``changed_frac`` = fraction of parameter updates
that changed a code).

All three end with a POLISH (``CodeTrainerOptions.polish``, default at most 20 sweeps): full-batch exact
line-search sweeps (below) until a sweep moves nothing, i.e. the codes are a coordinate-wise exact
minimum of the training loss. Mini-batch training explores, the polish settles: at 4 bits it removes
most of the final-iterate spread across seeds (5 seeds, Iris / compact16: latent 92.9 +- 5.8 % -> 96.4 +- 5.6 %,
mini-batch line search + polish 95.1 +- 3.3 %; experiments/trainers_4bit.md).

``latent`` -- controller-side latent weights (straight-through estimator).
    The classical controller keeps a float copy w (angles, rad); the DAC plays the codes
    c = Q(w) = ``encode_params(w)`` (nearest code; the nearest MEASURED angle on hardware). Per
    mini-batch, with the gradient evaluated at the applied codes,

        g = dL/dtheta |_(theta = angle(c)),   w <- wrap(w + delta(g)),   c <- Q(w),

    delta = -lr g (SGD) or the Adam step. Why: the quantizer's derivative is zero almost everywhere,
    the straight-through estimator replaces it by 1, and the float copy integrates sub-LSB updates
    until they cross a decision threshold, so there is no deadlock and no injected rounding noise.
    It is hardware-legal: only the applied code is constrained by the DAC, the float copy lives in the
    controller's memory. (w is wrapped into [-pi, pi): rotations are 2 pi-periodic, so the copy
    cannot drift away from the codes' circle.)

``linesearch`` -- exact line search in code space (coordinate / block-coordinate descent).
    There are only 2^b codes per parameter, so the loss along one coordinate can be evaluated at
    EVERY code in one batched executor call (P = 2^b parameter sets), and the coordinate moved to the
    exact minimiser over its grid (where <Z> is an exact trigonometric polynomial of degree D in one
    parameter's angle -- D = 1 on exact qubit rotations, d - 1 for a virtual-Z phase word on d levels --
    the whole line costs 2 D + 1 runs, whatever the number of codes):

        c_k <- argmin_{v in grid_k} L(c_1, ..., c_(k-1), v, c_(k+1), ..., c_m)   (ties keep c_k),

    coordinates in a fresh random order every sweep (on density matrices with exact readout -- emulated
    hardware -- in reverse circuit order instead: then one recorded forward sweep and one backward sweep of
    the readout observables give every coordinate's whole line, :meth:`~cryoctl.circuit.Executor.line_sweep`,
    measured 38x faster per pass than one batched run per coordinate on digits / deep48); with
    ``block = s > 1`` a block of s coordinates is moved jointly to the exact minimiser over the (2^b)^s grid
    points of the block. L is the loss on the
    current mini-batch (``batch = "mini"``: one sweep per mini-batch) or on the whole training set
    (``batch = "full"``: one sweep per epoch; then L never increases, and a sweep that moves nothing is a
    fixed point -- a coordinate-wise exact minimum -- where training stops). Why: no learning rate and no
    step-size / LSB mismatch at all; the update is the best the grid allows. Channels with more than
    ``max_candidates`` words (hardware phase registers) are searched on the ``max_candidates`` words
    nearest the current one (cyclically).

``anneal`` -- combinatorial training on codes (a QUBO in code increments, simulated annealing).
    On a block of s parameters (all of them when m <= ``block``), model the mini-batch loss around the
    current codes c for integer increments d in {-1, 0, +1}^s (one code = the channel's step) by

        Q(d) = L0 + sum_k g_k d_k + 1/2 sum_kl H_kl d_k d_l,

    with central finite differences on the code grid (all 1 + 2 s + 2 s (s - 1) sets in ONE batched
    executor call):

        g_k  = [L(c + e_k) - L(c - e_k)] / 2,         H_kk = L(c + e_k) - 2 L0 + L(c - e_k),
        H_kl = [L(c+e_k+e_l) - L(c+e_k-e_l) - L(c-e_k+e_l) + L(c-e_k-e_l)] / 4.

    Q matches L exactly at every stencil point with one non-zero increment, and to second order in the
    step (g_k / step -> dL/dtheta_k, H_kl / step^2 -> d2L/dtheta_k dtheta_l, errors O(step^2)). Each
    increment is two binary variables, d_k = p_k - n_k; with p^2 = p, d_k^2 = p_k + n_k - 2 p_k n_k, so
    Q becomes the QUBO

        E(p, n) = L0 + sum_k [(g_k + H_kk/2) p_k + (-g_k + H_kk/2) n_k - H_kk p_k n_k]
                  + sum_(k<l) H_kl (p_k p_l - p_k n_l - n_k p_l + n_k n_l),

    exact for all 4^s assignments (p = n = 1 is the zero move). dwave-samplers' simulated annealing
    (``SimulatedAnnealingSampler``, ``num_reads`` x ``num_sweeps``) returns low-energy increments; the
    ``candidates`` best distinct ones and the zero move are evaluated on the true mini-batch loss in one
    batched call, and the codes move to the best of them (the model proposes, the loss decides: a trust
    region of one code per parameter). Why: a joint move of many parameters by one LSB each -- the
    move a deadlocked gradient cannot make -- chosen with the pairwise couplings the ansatz has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cryoctl.circuit.description import Rot
from cryoctl.conventions import wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.qnn.gradients import loss_and_grad
from cryoctl.qnn.train import TrainConfig, TrainResult, _Adam, accuracy

CODE_TRAINERS = ("latent", "linesearch", "anneal")


@dataclass(frozen=True)
class LineSearchOptions:
    block: int = 1  # coordinates moved jointly (exact over (2^b)^block grid points)
    batch: str = "mini"  # "mini": one sweep per mini-batch; "full": one sweep per epoch on the training set
    max_candidates: int = 256  # words searched per coordinate (all of them when the channel has fewer)

    def __post_init__(self):
        if self.block < 1 or self.max_candidates < 2:
            raise CryoctlError("expected block >= 1 and max_candidates >= 2", field="linesearch")
        if self.batch not in ("full", "mini"):
            raise CryoctlError(f"unknown batch {self.batch!r}; expected full or mini", field="linesearch.batch")


@dataclass(frozen=True)
class AnnealOptions:
    block: int = 8  # parameters in one quadratic model (a random block when the model has more)
    num_reads: int = 16
    num_sweeps: int = 200
    candidates: int = 4  # best distinct annealer samples checked on the true loss

    def __post_init__(self):
        if min(self.block, self.num_reads, self.num_sweeps, self.candidates) < 1:
            raise CryoctlError("expected block, num_reads, num_sweeps, candidates >= 1", field="anneal")


@dataclass(frozen=True)
class CodeTrainerOptions:
    linesearch: LineSearchOptions = field(default_factory=LineSearchOptions)
    anneal: AnnealOptions = field(default_factory=AnnealOptions)
    #: After training: at most this many full-batch exact line-search sweeps, stopping at the first sweep
    #: that moves nothing (a coordinate-wise exact minimum of the training loss). 0: none.
    polish: int = 20
    #: Also stop the polish after a sweep that lowers the training loss by less than this fraction of it
    #: (0: only a sweep that moves nothing stops it). On emulated hardware the tail of the polish creeps:
    #: digits / deep48 at 4 bits took 14 sweeps, the last 9 lowering the loss by < 0.04 % each and moving
    #: no test prediction; 1e-3 stops it after 5.
    polish_tol: float = 0.0

    def __post_init__(self):
        if self.polish < 0:
            raise CryoctlError(f"expected polish >= 0 sweeps, got {self.polish}", field="polish")
        if not 0.0 <= self.polish_tol < 1.0:
            raise CryoctlError(f"expected polish_tol in [0, 1), got {self.polish_tol}", field="polish_tol")


# ---------------------------------------------------------------------------------------------- losses
def set_losses(model, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean cross-entropy of every parameter set: z (P, B, n) <Z> -> (P,) (the model's loss, batched)."""
    logits = model.logits(np.asarray(z, dtype=float))
    logits = logits - logits.max(axis=-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return -logp[:, np.arange(len(y)), y].mean(axis=-1)


def batch_losses(model, executor, x, y, param_sets, rng: np.random.Generator | None = None) -> np.ndarray:
    """Loss of every parameter set (P, n_params) on (x, y), in ONE batched executor call: (P,)."""
    return set_losses(model, executor.expect(model.circuit, x, param_sets, rng), y)


# ---------------------------------------------------------------------------------------------- grids
def code_grid(executor, circuit, k: int, current: int, max_candidates: int = 256) -> np.ndarray:
    """Every playable word of parameter k's channel (or the ``max_candidates`` nearest the current one)."""
    prov = executor.provider
    axis, qubit = circuit.param_axes[k], circuit.param_qubits[k]
    if axis == "z" and getattr(prov, "phase_bits", None) is not None:
        lo, hi = -(2 ** (prov.phase_bits - 1)), 2 ** (prov.phase_bits - 1) - 1
    else:
        lo, hi = int(prov.code_min), int(prov.code_max)
    n = hi - lo + 1
    if n <= max_candidates:
        return np.arange(lo, hi + 1, dtype=np.int64)
    offsets = np.arange(max_candidates) - max_candidates // 2
    return (int(current) - lo + offsets) % n + lo  # cyclic window: modular words wrap


def harmonic_degree(executor, circuit, k: int) -> int | None:
    """D such that every <Z> is EXACTLY a trigonometric polynomial of degree D in parameter k's nominal grid
    angle theta = code * step, or None.

    Each gate of the parameter contributes its provider's degree (``provider.harmonic_degree``: 1 for exact
    qubit rotations exp(-i theta P/2), P^2 = 1; d - 1 for a virtual-Z phase word on d levels, which
    multiplies rho_jk by exp(i theta (j - k))); everything else in the circuit is linear in rho and the
    readout is affine in the populations, so the degrees add. Needs exact expectations (no shots) and a
    grid that closes on the circle (2 pi a whole number N of codes, code arithmetic modulo N) with
    N >= 2 D + 1 distinct points to fit the polynomial on.
    """
    prov = executor.provider
    deg_of = getattr(prov, "harmonic_degree", None)
    if deg_of is None or not executor.quantized or executor.readout.shots is not None:
        return None
    degs = [deg_of(g.axis) for g in circuit.param_gates() if g.index == k]
    if not degs or any(d is None for d in degs):
        return None
    degree = int(sum(degs))
    n_codes = 2 * np.pi / abs(float(executor.param_steps(circuit)[k]))
    if abs(n_codes - round(n_codes)) > 1e-9 or round(n_codes) < 2 * degree + 1:
        return None
    return degree


def line_values(executor, circuit, x, codes, k: int, candidates, rng: np.random.Generator | None = None) -> np.ndarray:
    """<Z> (G, B, n) with parameter k at each candidate code, the others at ``codes``: from one forward and
    one backward sweep where the executor has them (:meth:`~cryoctl.circuit.Executor.line_expectations`:
    density matrices, exact readout, k in one gate), else one batched run of the G parameter sets."""
    codes = np.asarray(codes, dtype=np.int64)
    sets = np.repeat(codes[None], len(candidates), axis=0)
    sets[:, k] = candidates
    sets = executor.wrap_codes(circuit, sets)  # playable words
    if _one_gate(executor, circuit, [k]):
        return executor.line_expectations(circuit, x, codes, k, sets[:, k])
    return executor.expect(circuit, x, sets, rng)


def _one_gate(executor, circuit, coords) -> bool:
    """Can the executor contract lines (density adjoint) and is every coordinate in exactly one gate?"""
    if not getattr(executor, "can_density_adjoint", False):
        return False
    uses = np.bincount([g.index for g in circuit.gates if isinstance(g, Rot) and g.source == "p"],
                       minlength=circuit.n_params)
    return bool(np.all(uses[list(coords)] == 1))


def _harmonic_losses(model, executor, y, k, grid, degree, values):
    """Loss at every code of ``grid`` for parameter k from 2 D + 1 values of the line (:func:`harmonic_degree`);
    ``values(codes)`` gives <Z> (G, B, n) with k at those codes.

    E(theta) = a_0 + sum_(f=1..D) [a_f cos(f theta) + b_f sin(f theta)] for every sample and <Z_q>: values at
    2 D + 1 codes spread evenly over the circle (c_j = round(j N / (2 D + 1)), distinct since N >= 2 D + 1)
    give the coefficients by one (2 D + 1)-square linear solve (well conditioned: the points are nearly
    equispaced); then E at every grid code and the model's loss of each, batched. Equal to running every
    code to round-off (tested by brute force, on the ideal quantizer and on realized channel tables).
    """
    step = float(executor.param_steps(model.circuit)[k])
    n_codes = int(round(2 * np.pi / abs(step)))
    f = np.arange(1, degree + 1)

    def basis(theta):
        th = np.asarray(theta, dtype=float)[:, None] * f
        return np.concatenate([np.ones((len(th), 1)), np.cos(th), np.sin(th)], axis=1)

    fit = np.round(np.arange(2 * degree + 1) * n_codes / (2 * degree + 1)).astype(np.int64)
    z = values(fit)
    coef = np.linalg.solve(basis(fit * step), z.reshape(len(fit), -1))
    zg = (basis(np.asarray(grid) * step) @ coef).reshape((len(grid),) + z.shape[1:])
    return set_losses(model, zg, y)


LINE_TIE = 1e-12  # reconstructed / contracted line losses carry ~1e-15 round-off: a move must beat the current code by more


def _best_code(model, executor, y, k: int, current: int, values, max_candidates: int) -> int:
    """The exact minimiser of the loss over parameter k's grid (``values(codes)``: <Z> at those codes of k);
    the current code unless another beats it by more than LINE_TIE. Coordinates with an exact harmonic degree
    get their window's losses from 2 D + 1 values (:func:`_harmonic_losses`), the others from every code of it."""
    circuit = model.circuit
    degree = harmonic_degree(executor, circuit, k)
    # the window bounds the loss evaluations too (G x B x n values): a full 16-bit grid costs ~1 GB per coordinate
    grid = code_grid(executor, circuit, k, current, max_candidates)
    if degree is not None:
        loss = _harmonic_losses(model, executor, y, k, grid, degree, values)
    else:
        loss = set_losses(model, values(grid), y)
    j, cur = int(np.argmin(loss)), np.flatnonzero(grid == current)
    if cur.size == 0 or loss[j] < loss[cur[0]] - LINE_TIE:
        return int(grid[j])
    return int(current)


def line_search(model, executor, x, y, codes, coords, *, block: int = 1, max_candidates: int = 256,
                rng: np.random.Generator | None = None) -> tuple[np.ndarray, int]:
    """Sequential exact block-coordinate search over ``coords`` (module docstring); (codes, moved).

    Single coordinates (``block = 1``) move to :func:`_best_code`. On density matrices with exact readout
    (every coordinate in one gate) the whole pass is ONE :meth:`~cryoctl.circuit.Executor.line_sweep`: the
    coordinates then go in reverse circuit order (the order that lets one forward and one backward sweep
    serve them all), not in the order given; elsewhere in the order given, each from :func:`line_values`.
    Blocks run every grid point of the block in one batched call. Executors without ``line_sweep`` or whose
    sweep does not fit in memory (it returns None) go coordinate by coordinate.
    """
    circuit = model.circuit
    codes = np.asarray(codes, dtype=np.int64).copy()
    coords = list(coords)
    if block == 1 and _one_gate(executor, circuit, coords) and hasattr(executor, "line_sweep"):
        new = executor.line_sweep(circuit, x, codes, lambda k, cur, line: _best_code(
            model, executor, y, k, cur, lambda c: line(executor.wrap_codes(circuit, _at(codes, k, c))[:, k]),
            max_candidates), coords=coords)
        if new is not None:
            return new, int(np.count_nonzero(new != codes))
    moved = 0
    for start in range(0, len(coords), block):
        blk = coords[start: start + block]
        if block == 1:
            k = blk[0]
            new = _best_code(model, executor, y, k, codes[k],
                             lambda c: line_values(executor, circuit, x, codes, k, c, rng), max_candidates)
            moved += int(new != codes[k])
            codes[k] = new
            continue
        grids = [code_grid(executor, circuit, k, codes[k], max_candidates) for k in blk]
        mesh = np.stack([g.ravel() for g in np.meshgrid(*grids, indexing="ij")], axis=-1)  # (G, s)
        sets = np.repeat(codes[None], len(mesh) + 1, axis=0)
        sets[1:, blk] = mesh  # row 0: the current codes
        loss = batch_losses(model, executor, x, y, sets, rng)
        j = int(np.argmin(loss[1:])) + 1
        if loss[j] < loss[0]:  # strict: ties keep the current codes
            moved += int(np.count_nonzero(sets[j, blk] != codes[blk]))
            codes = sets[j].copy()
    return codes, moved


def _at(codes: np.ndarray, k: int, candidates) -> np.ndarray:
    """Parameter sets (G, n_params): ``codes`` with k at each candidate (for wrapping to playable words)."""
    sets = np.repeat(np.asarray(codes, dtype=np.int64)[None], len(candidates), axis=0)
    sets[:, k] = candidates
    return sets


# ---------------------------------------------------------------------------------------------- QUBO
def quadratic_model(model, executor, x, y, codes, block, rng: np.random.Generator | None = None):
    """(L0, g (s,), H (s, s)) of the loss in code increments of the parameters ``block`` (docstring)."""
    circuit = model.circuit
    codes = np.asarray(codes, dtype=np.int64)
    block = np.asarray(block, dtype=np.int64)
    s = len(block)
    iu, ju = np.triu_indices(s, 1)
    n_pairs = len(iu)
    sets = np.repeat(codes[None], 1 + 2 * s + 4 * n_pairs, axis=0)
    r = np.arange(s)
    sets[1 + r, block] += 1
    sets[1 + s + r, block] -= 1
    base = 1 + 2 * s
    for c, (si, sj) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        rows = base + c * n_pairs + np.arange(n_pairs)
        sets[rows, block[iu]] += si
        sets[rows, block[ju]] += sj
    loss = batch_losses(model, executor, x, y, executor.wrap_codes(circuit, sets), rng)
    l0, lp, lm = loss[0], loss[1: 1 + s], loss[1 + s: base]
    g = (lp - lm) / 2
    h = np.diag(lp - 2 * l0 + lm)
    if n_pairs:
        pp, pm, mp, mm = loss[base:].reshape(4, n_pairs)
        h[iu, ju] = h[ju, iu] = (pp - pm - mp + mm) / 4
    return float(l0), g, h


def quadratic_value(l0: float, g: np.ndarray, h: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Q(d) = L0 + g.d + d.H.d / 2 for increments d (..., s)."""
    d = np.asarray(d, dtype=float)
    return l0 + d @ g + 0.5 * np.einsum("...k,kl,...l->...", d, h, d)


def qubo(l0: float, g: np.ndarray, h: np.ndarray):
    """The QUBO of Q in binaries x = (p_0, n_0, p_1, n_1, ...): (linear (2s,), quadratic {(i, j): q}, offset).

    Variable 2k is p_k, 2k + 1 is n_k, d_k = p_k - n_k (module docstring).
    """
    s = len(g)
    hd = np.diag(h)
    lin = np.empty(2 * s)
    lin[0::2] = g + hd / 2
    lin[1::2] = -g + hd / 2
    quad = {(2 * k, 2 * k + 1): -hd[k] for k in range(s)}
    for k in range(s):
        for j in range(k + 1, s):
            q = h[k, j]
            quad[(2 * k, 2 * j)] = q
            quad[(2 * k, 2 * j + 1)] = -q
            quad[(2 * k + 1, 2 * j)] = -q
            quad[(2 * k + 1, 2 * j + 1)] = q
    return lin, quad, float(l0)


def qubo_energy(lin, quad, offset, x: np.ndarray) -> np.ndarray:
    """E(x) for binary assignments x (..., 2s)."""
    x = np.asarray(x, dtype=float)
    e = offset + x @ lin
    for (i, j), q in quad.items():
        e = e + q * x[..., i] * x[..., j]
    return e


def increments(x: np.ndarray) -> np.ndarray:
    """Binary assignments (..., 2s) -> code increments d = p - n (..., s)."""
    x = np.asarray(x, dtype=np.int64)
    return x[..., 0::2] - x[..., 1::2]


def anneal_increments(lin, quad, offset, *, num_reads: int, num_sweeps: int, rng: np.random.Generator,
                      candidates: int) -> np.ndarray:
    """The ``candidates`` lowest-energy distinct increments d (c, s) simulated annealing found."""
    import dimod
    from dwave.samplers import SimulatedAnnealingSampler

    bqm = dimod.BinaryQuadraticModel(dict(enumerate(lin)), quad, offset, dimod.BINARY)
    res = SimulatedAnnealingSampler().sample(bqm, num_reads=num_reads, num_sweeps=num_sweeps,
                                             seed=int(rng.integers(2**31 - 1)))
    x = res.record.sample[:, [res.variables.index(v) for v in range(len(lin))]]
    order = np.argsort(res.record.energy, kind="stable")
    d = increments(x[order])
    _, first = np.unique(d, axis=0, return_index=True)
    return d[np.sort(first)][:candidates]


# ---------------------------------------------------------------------------------------------- trainers
def _check(executor, cfg: TrainConfig):
    if cfg.trainer not in CODE_TRAINERS:
        raise CryoctlError(f"unknown code trainer {cfg.trainer!r}; expected one of {', '.join(CODE_TRAINERS)}",
                           field="trainer")
    if not executor.quantized:
        raise CryoctlError(f"trainer {cfg.trainer!r} needs a quantized provider (bits / profile)", field="trainer")


def train_codes(model, dataset, executor, config: TrainConfig, *, init_angles: np.ndarray | None = None,
                progress=None, options: CodeTrainerOptions = CodeTrainerOptions()) -> TrainResult:
    """Train with ``config.trainer`` in ``latent`` / ``linesearch`` / ``anneal`` (module docstring).

    ``config`` supplies epochs, batch size, seed, optimizer and learning rate (latent), the gradient
    method; ``options`` the line-search and annealing settings.
    """
    cfg = config
    _check(executor, cfg)
    rng = np.random.default_rng(cfg.seed)
    circuit = model.circuit
    m = model.n_params
    theta0 = rng.uniform(-np.pi, np.pi, m) if init_angles is None else np.asarray(init_angles, float).copy()
    latent = wrap_angle(theta0)
    codes = executor.encode_params(circuit, latent)
    steps = executor.param_steps(circuit)
    adam = _Adam(m, cfg) if cfg.optimizer == "adam" else None
    xtr, ytr, xte, yte = dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test
    n = len(ytr)

    def log(epoch, changed, updates):
        tr_acc, tr_loss = accuracy(model, executor, xtr, ytr, codes, rng=rng)
        te_acc, _ = accuracy(model, executor, xte, yte, codes, rng=rng)
        return {"epoch": epoch, "loss": tr_loss, "train_acc": tr_acc, "test_acc": te_acc,
                "changed_frac": changed / max(updates, 1), "temperature": None}

    history = [log(0, 0, 0)]
    extra_stop = None
    ls, an = options.linesearch, options.anneal
    for epoch in range(1, cfg.epochs + 1):
        changed = updates = 0
        if cfg.trainer == "linesearch" and ls.batch == "full":
            codes, moved = line_search(model, executor, xtr, ytr, codes, rng.permutation(m), block=ls.block,
                                       max_candidates=ls.max_candidates, rng=rng)
            changed, updates = moved, m
            if moved == 0:  # a coordinate-wise exact minimum of the training loss: a fixed point
                history.append(log(epoch, changed, updates))
                extra_stop = epoch
                if progress is not None:
                    progress(epoch)
                break
        else:
            order = rng.permutation(n)
            for start in range(0, n, cfg.batch_size):
                idx = order[start: start + cfg.batch_size]
                xb, yb = xtr[idx], ytr[idx]
                if cfg.trainer == "latent":
                    _, g, _ = loss_and_grad(model, executor, xb, yb, codes, method=cfg.gradient, rng=rng)
                    latent = wrap_angle(latent + (adam.step(g) if adam else -cfg.lr * g))
                    new = executor.encode_params(circuit, latent)
                    changed += int(np.count_nonzero(new != codes))
                    updates += m
                    codes = new
                elif cfg.trainer == "linesearch":
                    codes, moved = line_search(model, executor, xb, yb, codes, rng.permutation(m), block=ls.block,
                                               max_candidates=ls.max_candidates, rng=rng)
                    changed, updates = changed + moved, updates + m
                else:
                    block = np.sort(rng.permutation(m)[: an.block])
                    l0, g, h = quadratic_model(model, executor, xb, yb, codes, block, rng)
                    d = anneal_increments(*qubo(l0, g, h), num_reads=an.num_reads, num_sweeps=an.num_sweeps,
                                          rng=rng, candidates=an.candidates)
                    sets = np.repeat(codes[None], len(d) + 1, axis=0)
                    sets[1:, block] += d
                    sets = executor.wrap_codes(circuit, sets)
                    loss = batch_losses(model, executor, xb, yb, sets, rng)
                    j = int(np.argmin(loss[1:])) + 1
                    if loss[j] < loss[0]:
                        changed += int(np.count_nonzero(sets[j] != codes))
                        codes = sets[j].copy()
                    updates += len(block)
        history.append(log(epoch, changed, updates))
        if progress is not None:
            progress(epoch)
    done = history[-1]["epoch"]
    for sweep in range(1, options.polish + 1):  # full-batch polish (any trainer); history continues
        codes, moved = line_search(model, executor, xtr, ytr, codes, rng.permutation(m), max_candidates=ls.max_candidates,
                                   rng=rng)
        history.append({**log(done + sweep, moved, m), "polish": True})
        before, after = history[-2]["loss"], history[-1]["loss"]
        if moved == 0 or before - after < options.polish_tol * abs(before):
            break
    extra = {"init_angles": theta0}
    if extra_stop is not None:
        extra["converged_epoch"] = extra_stop
    if cfg.trainer == "latent":
        extra["latent"] = latent
    return TrainResult(params=codes.copy(), angles=np.asarray(executor.param_angles(circuit, codes), dtype=float),
                       codes=codes.copy(), history=history, config=cfg, provider_label=executor.label,
                       bits=getattr(executor.provider, "bits", None), param_steps=np.asarray(steps, float).copy(),
                       extra=extra)
