"""Single-qubit Clifford randomized benchmarking (RB) on the emulated hardware's realized gates.

RB is a workload like a QNN: it only sees what a circuit sees, the realized operation of each word
the controller plays (a gate table), and measures one number an architect can compare with a lab:
the error per Clifford.

Clifford group and its compilation (:func:`clifford_group`). The 24 single-qubit Cliffords (unitaries
modulo a global phase; each one is identified by its Pauli transfer matrix, a signed 3 x 3
permutation) are compiled into the native gates of the controller,

    x90, x-90, x180, y90, y-90, y180   (drive pulses: amplitude codes of the qubit's I / Q DAC)
    z90, z-90, z180                     (virtual Z: phase words of the frame register, no pulse),

by a shortest-path search over words, cost = (number of pulses, number of virtual Zs), ties broken by
the order above. Virtual Z is free, so every Clifford needs at most one pulse: I, Z90, Z-90, Z180 none,
the other 20 one (z -> -z: x180 with frame updates; z -> +-x, +-y: one 90-degree pulse between frame
updates), 20/24 = 0.833 pulses per Clifford on average (``n_pulses``). A word is in time order: the
Clifford (g_1, ..., g_k) is U = U_gk ... U_g1.

Realized Cliffords (:func:`realized_cliffords`). A drive pulse is the amplitude code the calibration
plays for the angle, ``calibration.code_for(axis, q, theta)`` (through
:class:`~cryoctl.circuit.providers.TableProvider`, the one angle <-> code rule), realized by the
table's operation for that code; a virtual Z(phi) is the phase word round(phi / 2 pi * 2^phase_bits)
realized by :func:`~cryoctl.pulse.frame.virtual_z` on the d levels. Every realized native gate is taken
as a row-major superoperator (kron(U, U*) for a unitary table), and the realized Clifford is their
product S_C = S_gk ... S_g1, a (d^2 x d^2) channel on d levels. Its quality against the ideal Clifford
C on the qubit block {|0>, |1>} (:func:`clifford_metrics`), with S_qb the qubit-block restriction,

    F_avg(C) = (sum_{i,j in {0,1}} S_qb[jj, ii] + Tr(S_C_ideal^dag S_qb)) / 6,   S_C_ideal = kron(C, C*)

(as in :mod:`cryoctl.gates.metrics`), the leakage L1(C) = 1 - (1/2) sum_{i,j in {0,1}} S_qb[jj, ii]
and the seepage L2(C) = (1/(d-2)) sum_{k >= 2} sum_{j in {0,1}} S[jj, kk] (population returning to
the qubit block from a leaked level).

Sequences (:func:`run_rb`). For each length m, ``n_sequences`` sequences of m Cliffords drawn uniformly
and independently (one numpy Generator), followed by the inverting Clifford of their product computed
on the ideal group (multiplication table of the 24 PTMs), so that an ideal sequence is the identity.
Start in |0><0| on d levels, apply the m + 1 realized Cliffords, read the populations exactly (no
shots, no assignment error: SPAM would only change A and B below):

    survival P(m) = <0| rho_m |0>   (leaked population does not survive),
    leakage  L(m) = 1 - <0|rho_m|0> - <1|rho_m|1>.

Vectorised: the 24 realized Cliffords are precomputed; the sequences of one length are ONE batch, and
the state is propagated by m + 1 batched matrix-vector products v <- S[c_k] v over the sequence axis
(the loop runs over positions in the sequence, never over sequences).

Decay fit (:func:`fit_decay`). P(m) averaged over sequences, with the standard error of the mean
sem(m) = std / sqrt(n_sequences) of each length (sigma(m) = sqrt(sem^2 + floor^2), floor 1e-12 for the
round-off of a long product), is fitted by least squares (scipy ``least_squares``, analytic Jacobian) to

    P(m) = A p^m + B,     0 <= A, p, B <= 1 (a population: A + B = P(0) <= 1, B the asymptote),

starting from the best p on a grid (A, B linear for each p). The bounds matter when the decay is only
partly resolved (small errors, short sequences): an unbounded fit then trades p against A -> +large,
B -> -large. Weights: residuals divided by sigma~(m), a quadratic in log m fitted to log sigma(m) -- NOT each
point's own sample sem: with few sequences, a point that fluctuates up (less decay) also tends to have a
smaller sample spread, and weighting by it biased r low (measured on the 5-bit ``cryo_cmos_6bit`` table:
-10 % at 8 sequences, -4 % at 20, -1.6 % at 50; with smooth weights the bias is below the noise and the
scatter 10-27 % smaller than unweighted). The covariance is the sandwich (the lengths are independent
means with standard errors sigma(m), whatever the weights),

    Cov = (J^T W J)^-1 J^T W Sigma W J (J^T W J)^-1,    W = diag(1 / sigma~^2), Sigma = diag(sigma^2),

and the error per Clifford and its 1-sigma error bar are

    r = (d - 1)(1 - p) / d,  d = 2,       sigma_r = (d - 1) sigma_p / d

(on that table the error bars are 8-15 % below the seed-to-seed scatter at 8-50 sequences, and
r +- 2 sigma covers the reference in ~93 % of the draws). When
the three-parameter fit is degenerate (no decay at these lengths: p = 1 with A, B not separable;
detected as a singular J^T W J, sigma_p > 0.1 or A < 3 sigma_A) B is fixed to 1/2 (the depolarized
qubit) and ``DecayFit.model`` says so. For gate-independent noise (every realized Clifford = Lambda o C with
one channel Lambda) P(m) = A p^m + B holds exactly for m >= 1 and r = 1 - F_avg(Lambda) = the mean
infidelity of the realized Clifford set (Magesan et al., PRA 85, 042311 (2012)); for gate-dependent
noise the two differ at second order (Proctor et al. 2017, Wallman 2018), which is why both are reported.

Leakage RB (:func:`fit_leakage`). Leakage per Clifford L1 and seepage per Clifford L2 enter the rate
equation of the leaked population x after each random Clifford (Wood & Gambetta, PRA 97, 032306
(2018)), x_m = x_{m-1} (1 - L2) + (1 - x_{m-1}) L1, whose solution is

    L(m) = L1 (1 - lambda^m) / (1 - lambda) + c lambda^m,     lambda = 1 - L1 - L2
         = L_inf (1 - lambda^m) + c lambda^m,                  L_inf = L1 / (L1 + L2),

with c an effective offset (SPAM of the leakage measurement: the first Clifford acts on |0>, not on a
twirled state, and the inverting Clifford ends in |0>, so the pulse it plays leaks less than an
average one; with this compilation c ~ -L1). We fit this form in the parameters (L1, L2 >= 0, c)
rather than the free A + B lambda^m, because it stays well-posed in the regime of the emulated
hardware, L1 ~ 1e-7..1e-4 and (without T1) L2 small: with no visible saturation L(m) -> c + L1 m and the
fit reduces to the linear early-m slope, while the free form's A and B diverge in opposite directions
(and L1 = (1 - A)(1 - lambda) is then their small difference). The fitted L1 is the reported leakage per
Clifford (weights and error bar as for r); for Markovian (incoherent) leakage it equals the
mean L1(C) of the realized Clifford set (reported next to it as ``clifford_leakage``); coherent
leakage interferes between consecutive pulses, and then the two differ.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from cryoctl.circuit.ops import rotation
from cryoctl.circuit.providers import TableProvider
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError
from cryoctl.gates.metrics import leakage as _block_leakage
from cryoctl.gates.metrics import qubit_superop
from cryoctl.gates.table import GateTable

#: native gates of the controller: name -> (axis, angle); z is virtual (a phase word, no pulse)
NATIVE_GATES: dict[str, tuple[str, float]] = {
    "x90": ("x", np.pi / 2), "x-90": ("x", -np.pi / 2), "x180": ("x", np.pi),
    "y90": ("y", np.pi / 2), "y-90": ("y", -np.pi / 2), "y180": ("y", np.pi),
    "z90": ("z", np.pi / 2), "z-90": ("z", -np.pi / 2), "z180": ("z", np.pi),
}
#: default sequence lengths (number of random Cliffords before the inverse)
DEFAULT_LENGTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
DEFAULT_SEQUENCES = 50
#: most Clifford applications (sequences x sum of lengths) one run may ask for
MAX_WORK = 20_000_000
#: a three-parameter fit with sigma_p above this has not resolved a decay: B is fixed to 1/d instead
RESOLVED_P_ERR = 0.1
#: sigma floor of the fits (round-off of a product of ~1e3 superoperators)
SIGMA_FLOOR = 1e-12

_PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def _ptm(u: np.ndarray) -> np.ndarray:
    """Pauli transfer matrix of 2x2 unitaries on (x, y, z): R_ab = (1/2) Tr(s_a U s_b U^dag) -> (..., 3, 3)."""
    return 0.5 * np.einsum("aij,...jk,bkl,...il->...ab", _PAULI, u, _PAULI, np.conj(u)).real


def _key(u: np.ndarray) -> bytes:
    return np.rint(_ptm(u)).astype(np.int8).tobytes()


@dataclass(frozen=True)
class CliffordGroup:
    """The 24 single-qubit Cliffords compiled into native gates (module docstring).

    ``ideal`` (24, 2, 2) unitaries, ``words`` native-gate names in time order, ``n_pulses`` drive
    pulses per Clifford, ``mult[i, j]`` the index of C_i C_j (C_j first), ``inverse[i]`` that of C_i^-1.
    Index 0 is the identity.
    """

    ideal: np.ndarray
    words: tuple[tuple[str, ...], ...]
    n_pulses: np.ndarray
    mult: np.ndarray
    inverse: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    def compose(self, seq: np.ndarray) -> np.ndarray:
        """Index of the product C_{s_m} ... C_{s_1} of each row of ``seq`` (n, m), time order along axis 1."""
        seq = np.asarray(seq, dtype=np.int64)
        total = np.zeros(seq.shape[0], dtype=np.int64)
        for k in range(seq.shape[1]):  # over positions; the sequence axis is batched
            total = self.mult[seq[:, k], total]
        return total


@lru_cache(maxsize=1)
def clifford_group() -> CliffordGroup:
    """Shortest-path compilation of the 24 Cliffords into :data:`NATIVE_GATES` (module docstring)."""
    native = {name: rotation(axis, angle, 2) for name, (axis, angle) in NATIVE_GATES.items()}
    start = np.eye(2, dtype=complex)
    best: dict[bytes, tuple[tuple[int, int], tuple[str, ...], np.ndarray]] = {}
    heap: list = [((0, 0), 0, (), start)]
    counter = 1
    while heap:
        cost, _, word, u = heapq.heappop(heap)
        key = _key(u)
        if key in best:
            continue
        best[key] = (cost, word, u)
        for name, g in native.items():
            step = (0, 1) if NATIVE_GATES[name][0] == "z" else (1, 0)
            nxt = g @ u
            if _key(nxt) not in best:
                heapq.heappush(heap, ((cost[0] + step[0], cost[1] + step[1]), counter, word + (name,), nxt))
                counter += 1
    if len(best) != 24:  # pragma: no cover  (the group generated by the native gates)
        raise RuntimeError(f"the native gates generate {len(best)} elements, expected 24 Cliffords")
    order = list(best.values())  # heap order: by cost, then discovery (the native-gate order)
    ideal = np.stack([u for _, _, u in order])
    words = tuple(w for _, w, _ in order)
    n_pulses = np.array([c[0] for c, _, _ in order])
    index = {_key(u): i for i, u in enumerate(ideal)}
    prod = np.einsum("aij,bjk->abik", ideal, ideal)
    mult = np.array([[index[_key(prod[a, b])] for b in range(24)] for a in range(24)], dtype=np.int64)
    inverse = np.argmax(mult == 0, axis=1)
    assert np.all(mult[np.arange(24), inverse] == 0)
    return CliffordGroup(ideal=ideal, words=words, n_pulses=n_pulses, mult=mult, inverse=inverse)


# --- realized Cliffords -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealizedCliffords:
    """The 24 realized Cliffords of one qubit as row-major superoperators (24, d^2, d^2), and the words played."""

    superops: np.ndarray
    levels: int
    words: dict[str, int] = field(default_factory=dict)  # native gate -> amplitude code / phase word


def realized_cliffords(table: GateTable, qubit: int = 0, group: CliffordGroup | None = None) -> RealizedCliffords:
    """Compile the Clifford group onto ``qubit`` of ``table`` (module docstring): codes from the table's
    calibration, phase words from its ``phase_bits``, products of the realized native superoperators."""
    group = group or clifford_group()
    provider = TableProvider(table)
    d = table.levels
    native, words = {}, {}
    for name, (axis, angle) in NATIVE_GATES.items():
        word = provider.encode(axis, qubit, np.array(angle))  # validates the qubit
        op = np.asarray(provider.ops(axis, qubit, word))
        native[name] = kron_conj(op) if op.shape[-1] == d else op
        words[name] = int(word)
    sup = np.empty((len(group), d * d, d * d), dtype=complex)
    for i, word in enumerate(group.words):  # 24 compile-time products, each of at most 3 gates
        s = np.eye(d * d, dtype=complex)
        for name in word:
            s = native[name] @ s
        sup[i] = s
    return RealizedCliffords(superops=sup, levels=d, words=words)


def clifford_metrics(superops: np.ndarray, group: CliffordGroup | None = None) -> dict[str, np.ndarray]:
    """Per realized Clifford (module docstring): ``fidelity`` F_avg vs the ideal Clifford on the qubit
    block, ``leakage`` L1(C), ``seepage`` L2(C) (0 on two levels); each of shape (24,)."""
    group = group or clifford_group()
    superops = np.asarray(superops)
    d = int(round(np.sqrt(superops.shape[-1])))
    s_qb = qubit_superop(superops, "channel")
    leak = _block_leakage(superops, "channel")
    overlap = np.sum(np.conj(kron_conj(group.ideal)) * s_qb, axis=(-1, -2)).real
    fid = (2.0 * (1.0 - leak) + overlap) / 6.0
    if d > 2:
        diag = np.arange(d) * (d + 1)  # vec index of |k><k|
        seep = superops[:, diag[:2, None], diag[None, 2:]].real.sum(axis=1).mean(axis=-1)
    else:
        seep = np.zeros(len(group))
    return {"fidelity": fid, "leakage": leak, "seepage": seep}


# --- sequences ------------------------------------------------------------------------------------------


def check_lengths(lengths, n_sequences: int) -> np.ndarray:
    """Sorted distinct positive lengths (at least 4, for a three-parameter fit with an error bar)."""
    try:
        arr = np.asarray(lengths)
        ok = arr.ndim == 1 and arr.size > 0 and np.issubdtype(arr.dtype, np.integer)
    except (TypeError, ValueError):
        ok = False
    if not ok or np.any(arr < 1):
        raise CryoctlError(f"expected a list of positive integer sequence lengths, got {lengths!r}", field="lengths")
    arr = np.unique(arr.astype(np.int64))
    if arr.size < 4:
        raise CryoctlError(f"expected at least 4 distinct sequence lengths (the fit A p^m + B has 3 parameters), "
                           f"got {arr.tolist()}", field="lengths")
    if isinstance(n_sequences, bool) or not isinstance(n_sequences, (int, np.integer)) or n_sequences < 2:
        raise CryoctlError(f"expected at least 2 sequences per length (for an error bar), got {n_sequences!r}",
                           field="sequences")
    work = int(n_sequences) * int((arr + 1).sum())
    if work > MAX_WORK:
        raise CryoctlError(f"{n_sequences} sequences x sum of lengths {int((arr + 1).sum())} = {work} Clifford "
                           f"applications, more than {MAX_WORK}: use fewer sequences or shorter lengths",
                           field="lengths")
    return arr


def run_sequences(superops: np.ndarray, seq: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Survival and leakage of sequences ``seq`` (n, k) of Clifford indices (time order, inverse included)
    from |0><0|: v <- S[seq[:, j]] v for j = 0..k-1, batched over n -> ((n,), (n,))."""
    d = levels
    v = np.zeros((seq.shape[0], d * d), dtype=complex)
    v[:, 0] = 1.0
    for j in range(seq.shape[1]):
        v = np.einsum("nab,nb->na", superops[seq[:, j]], v)
    p0, p1 = v[:, 0].real, v[:, d + 1].real
    return p0, 1.0 - p0 - p1


@dataclass(frozen=True)
class DecayFit:
    """P(m) = A p^m + B fitted with 1-sigma errors; ``epc`` = (d-1)(1-p)/d."""

    A: float
    p: float
    B: float
    p_err: float
    epc: float
    epc_err: float
    model: str
    chi2_red: float


@dataclass(frozen=True)
class LeakageFit:
    """L(m) = L1 (1 - lambda^m)/(1 - lambda) + c lambda^m, lambda = 1 - L1 - L2 (module docstring)."""

    L1: float
    L1_err: float
    L2: float
    L2_err: float


#: least-squares tolerances: tight, so that a fit ending on a bound (p = 1) gets there
_TOL = {"xtol": 1e-14, "ftol": 1e-14, "gtol": 1e-14, "max_nfev": 20000}


def _sigma(sem: np.ndarray) -> np.ndarray:
    return np.sqrt(np.asarray(sem, dtype=float) ** 2 + SIGMA_FLOOR**2)


def _smooth_weights(x: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Weights 1/sigma~ from a smooth model of the points' errors: a quadratic in log m fitted to log sigma
    (normalised to mean 1). The points' own sample errors would correlate weight and fluctuation."""
    lx, ls = np.log(x), np.log(sig)
    if x.size < 4 or np.ptp(lx) == 0:
        return np.ones_like(x)
    coef = np.polyfit(lx - lx.mean(), ls, 2)
    w = np.exp(-np.polyval(coef, lx - lx.mean()))
    return w / w.mean()


def _ols(f, jac, x, y, sig, start, bounds) -> tuple[np.ndarray, np.ndarray, float]:
    """Bounded least squares with smooth weights (:func:`_smooth_weights`) -> (theta, sandwich covariance,
    chi2_red with sig).

    Cov = (J^T W J)^-1 J^T W diag(sig^2) W J (J^T W J)^-1 (the points are independent means with standard
    errors sig). Non-finite when J^T W J is singular. chi2_red is a diagnostic only: the fit does not
    minimise it.
    """
    from scipy.optimize import least_squares

    w = _smooth_weights(x, sig)
    res = least_squares(lambda th: w * (f(x, *th) - y), start, jac=lambda th: w[:, None] * jac(x, *th),
                        bounds=bounds, method="dogbox", x_scale="jac", **_TOL)
    theta = res.x
    jm = w[:, None] * jac(x, *theta)
    jtj = jm.T @ jm
    if not np.all(np.isfinite(jtj)) or np.linalg.cond(jtj) > 1e15:
        return theta, np.full(jtj.shape, np.inf), float("inf")
    bread = np.linalg.inv(jtj)
    cov = bread @ (jm.T * (w * sig) ** 2) @ jm @ bread
    chi2_red = float(np.sum(((f(x, *theta) - y) / sig) ** 2) / max(x.size - theta.size, 1))
    return theta, cov, chi2_red


def fit_decay(lengths, mean, sem, d: int = 2) -> DecayFit:
    """Smooth-weighted least-squares fit of A p^m + B, sandwich error bar (module docstring); B = 1/d when
    degenerate."""
    m = np.asarray(lengths, dtype=float)
    y = np.asarray(mean, dtype=float)
    sig = _sigma(sem)

    def f(mm, a, p, b):
        return a * np.power(p, mm) + b

    def jac(mm, a, p, b):
        return np.stack([np.power(p, mm), a * mm * np.power(p, mm - 1), np.ones_like(mm)], axis=-1)

    # start: the best p on a grid, (A, B) by linear least squares for each p (2 x 2 normal equations)
    grid = np.concatenate([1.0 - np.logspace(-9, 0, 400), [1.0]])
    pm = grid[:, None] ** m[None, :]
    s1, s2, n = pm.sum(1), (pm * pm).sum(1), m.size
    det = n * s2 - s1**2
    ok_det = det > 1e-12 * n * s2
    safe = np.where(ok_det, det, 1.0)
    a_g = np.where(ok_det, (n * (pm @ y) - s1 * y.sum()) / safe, 0.0)
    b_g = np.where(ok_det, (s2 * y.sum() - s1 * (pm @ y)) / safe, y.mean())
    k = int(np.argmin(((a_g[:, None] * pm + b_g[:, None] - y) ** 2).sum(1)))
    a0, p0, b0 = a_g[k], grid[k], b_g[k]
    model = "A p^m + B"
    try:
        theta, cov, chi2_red = _ols(f, jac, m, y, sig, np.clip([a0, p0, b0], 0.0, 1.0), ([0.0] * 3, [1.0] * 3))
        ok = (np.all(np.isfinite(cov)) and 0.0 <= cov[1, 1] <= RESOLVED_P_ERR**2
              and theta[0] > 3.0 * np.sqrt(max(cov[0, 0], 0.0)))
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        ok = False
    if not ok:
        b_fix = 1.0 / d
        model = f"A p^m + 1/{d}"
        theta2, cov2, chi2_red = _ols(lambda mm, a, p: f(mm, a, p, b_fix), lambda mm, a, p: jac(mm, a, p, b_fix)[:, :2],
                                      m, y, sig, np.clip([a0, p0], 1e-3, 1.0), ([0.0] * 2, [1.0] * 2))
        theta = np.array([theta2[0], theta2[1], b_fix])
        cov = np.zeros((3, 3))
        cov[:2, :2] = cov2
    a, p, b = (float(v) for v in theta)
    p_err = float(np.sqrt(max(cov[1, 1], 0.0)))
    scale = (d - 1) / d
    return DecayFit(A=a, p=p, B=b, p_err=p_err, epc=scale * (1.0 - p), epc_err=scale * p_err, model=model,
                    chi2_red=chi2_red)


def _rate_g(n: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """g(n; s) = (1 - (1 - s)^n) / s (= n at s = 0) and dg/ds, stable as s -> 0."""
    if s * float(n.max()) < 1e-3:  # series: g = n - C(n,2) s + C(n,3) s^2 - C(n,4) s^3 (error ~ (n s)^4)
        c2, c3, c4 = n * (n - 1) / 2, n * (n - 1) * (n - 2) / 6, n * (n - 1) * (n - 2) * (n - 3) / 24
        return n - c2 * s + c3 * s**2 - c4 * s**3, -c2 + 2 * c3 * s - 3 * c4 * s**2
    s = min(s, 1.0 - 1e-15)
    lam_n = np.exp(n * np.log1p(-s))
    g = (1.0 - lam_n) / s
    return g, (n * lam_n * s / (1.0 - s) - (1.0 - lam_n)) / s**2


def _leak_model(m: np.ndarray, l1: float, l2: float, c: float) -> tuple[np.ndarray, ...]:
    """L(m) = L1 g(m; s) + c lambda^m with s = L1 + L2, lambda^m = 1 - s g; and dL/dL1, dL/dL2, dL/dc."""
    g, dg = _rate_g(m, l1 + l2)
    s = l1 + l2
    lam_m = 1.0 - s * g
    dlam = -g - s * dg  # d(lambda^m)/ds
    d_s = l1 * dg + c * dlam
    return l1 * g + c * lam_m, g + d_s, d_s, lam_m


def fit_leakage(lengths, mean, sem) -> LeakageFit:
    """Least-squares fit of the leakage rate equation (module docstring), L1, L2 >= 0, |c| <= 1."""
    m = np.asarray(lengths, dtype=float)
    y = np.asarray(mean, dtype=float)
    if not np.any(np.abs(y) > SIGMA_FLOOR):
        return LeakageFit(0.0, 0.0, 0.0, 0.0)  # nothing leaks (two levels, or exact gates)
    sig = _sigma(sem)
    best = None  # start: for each s = L1 + L2 on a grid, (L1, c) by linear least squares
    for s in np.concatenate([[0.0], np.logspace(-9, 0, 300)]):
        g, _ = _rate_g(m, s)
        x = np.stack([g, 1.0 - s * g], axis=-1)
        (l1, c), *_ = np.linalg.lstsq(x, y, rcond=None)
        l1 = min(max(float(l1), 0.0), s) if s > 0 else max(float(l1), 0.0)
        c = float(np.clip(c, -1.0, 1.0))
        chi2 = float(np.sum((x @ [l1, c] - y) ** 2))
        if best is None or chi2 < best[0]:
            best = (chi2, l1, max(s - l1, 0.0), c)
    _, l1_0, l2_0, c_0 = best
    scale = max(l1_0, abs(c_0), 1e-15)  # fit in units of the leakage scale

    def f(mm, a, b, c):
        return _leak_model(mm, a * scale, b * scale, c * scale)[0]

    def jac(mm, a, b, c):
        return np.stack(_leak_model(mm, a * scale, b * scale, c * scale)[1:], -1) * scale

    try:
        theta, cov, _ = _ols(f, jac, m, y, sig, [l1_0 / scale, l2_0 / scale, c_0 / scale],
                             ([0.0, 0.0, -1.0 / scale], [np.inf, np.inf, 1.0 / scale]))
    except (RuntimeError, ValueError, np.linalg.LinAlgError):  # pragma: no cover
        return LeakageFit(l1_0, float("inf"), l2_0, float("inf"))  # no error bar: infinite, never NaN
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None)) * scale
    return LeakageFit(float(theta[0] * scale), float(err[0]), float(theta[1] * scale), float(err[1]))


# --- the experiment -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RBResult:
    """One RB experiment: averaged curves, the fits and the realized Clifford set's own metrics."""

    lengths: np.ndarray
    survival_mean: np.ndarray
    survival_sem: np.ndarray
    leakage_mean: np.ndarray
    leakage_sem: np.ndarray
    fit: DecayFit
    leak_fit: LeakageFit
    clifford_infidelity: float  # mean over the 24 of 1 - F_avg (qubit block)
    clifford_leakage: float  # mean over the 24 of L1(C)
    clifford_seepage: float  # mean over the 24 of L2(C)
    n_pulses_mean: float
    n_sequences: int
    levels: int
    words: dict[str, int] = field(default_factory=dict)

    @property
    def epc(self) -> float:
        return self.fit.epc

    @property
    def epc_err(self) -> float:
        return self.fit.epc_err

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: the metrics first, then the curves."""
        return {
            "epc": self.fit.epc, "epc_err": self.fit.epc_err,
            "leakage_per_clifford": self.leak_fit.L1, "leakage_per_clifford_err": self.leak_fit.L1_err,
            "seepage_per_clifford": self.leak_fit.L2, "seepage_per_clifford_err": self.leak_fit.L2_err,
            "clifford_infidelity": self.clifford_infidelity, "clifford_leakage": self.clifford_leakage,
            "clifford_seepage": self.clifford_seepage, "pulses_per_clifford": self.n_pulses_mean,
            "fit": {"A": self.fit.A, "p": self.fit.p, "B": self.fit.B, "p_err": self.fit.p_err,
                    "model": self.fit.model, "chi2_red": self.fit.chi2_red},
            "n_sequences": self.n_sequences, "levels": self.levels, "native_words": dict(self.words),
            "lengths": self.lengths.tolist(), "survival_mean": self.survival_mean.tolist(),
            "survival_sem": self.survival_sem.tolist(), "leakage_mean": self.leakage_mean.tolist(),
            "leakage_sem": self.leakage_sem.tolist(),
        }


def run_rb(
    superops: np.ndarray,
    levels: int,
    lengths=DEFAULT_LENGTHS,
    n_sequences: int = DEFAULT_SEQUENCES,
    rng: np.random.Generator | None = None,
    group: CliffordGroup | None = None,
    words: dict[str, int] | None = None,
) -> RBResult:
    """RB on given realized Cliffords ``superops`` (24, d^2, d^2), indexed like :func:`clifford_group`.

    For each length (ascending) ``n_sequences`` random sequences are drawn from ``rng`` (one
    ``rng.integers`` call per length), completed by their ideal inverse and run as one batch.
    """
    if rng is None or not isinstance(rng, np.random.Generator):
        raise CryoctlError("run_rb needs an explicit numpy Generator (np.random.default_rng(seed))", field="rng")
    group = group or clifford_group()
    superops = np.asarray(superops, dtype=complex)
    if superops.shape != (len(group), levels**2, levels**2):
        raise CryoctlError(f"expected realized Cliffords of shape ({len(group)}, {levels**2}, {levels**2}), "
                           f"got {superops.shape}", field="superops")
    lengths = check_lengths(lengths, n_sequences)
    surv_m, surv_s, leak_m, leak_s = [], [], [], []
    for m in lengths:
        seq = rng.integers(0, len(group), size=(n_sequences, int(m)))
        full = np.concatenate([seq, group.inverse[group.compose(seq)][:, None]], axis=1)
        surv, leak = run_sequences(superops, full, levels)
        root_n = np.sqrt(n_sequences)
        surv_m.append(surv.mean())
        surv_s.append(surv.std(ddof=1) / root_n)
        leak_m.append(leak.mean())
        leak_s.append(leak.std(ddof=1) / root_n)
    surv_m, surv_s, leak_m, leak_s = (np.array(v) for v in (surv_m, surv_s, leak_m, leak_s))
    cm = clifford_metrics(superops, group)
    return RBResult(
        lengths=lengths, survival_mean=surv_m, survival_sem=surv_s, leakage_mean=leak_m, leakage_sem=leak_s,
        fit=fit_decay(lengths, surv_m, surv_s, d=2),
        leak_fit=fit_leakage(lengths, leak_m, leak_s) if levels > 2 else LeakageFit(0.0, 0.0, 0.0, 0.0),
        clifford_infidelity=float(np.mean(1.0 - cm["fidelity"])), clifford_leakage=float(np.mean(cm["leakage"])),
        clifford_seepage=float(np.mean(cm["seepage"])), n_pulses_mean=float(np.mean(group.n_pulses)),
        n_sequences=int(n_sequences), levels=int(levels), words=dict(words or {}),
    )


def table_rb(
    table: GateTable,
    qubit: int = 0,
    lengths=DEFAULT_LENGTHS,
    n_sequences: int = DEFAULT_SEQUENCES,
    rng: np.random.Generator | None = None,
) -> RBResult:
    """Single-qubit Clifford RB of ``qubit`` on a realized-gate table (module docstring)."""
    group = clifford_group()
    rc = realized_cliffords(table, qubit, group)
    return run_rb(rc.superops, rc.levels, lengths, n_sequences, rng, group, rc.words)
