"""The solve plan of a gate table: which realization it needs, decided once per profile, and its cost.

A table holds, for each channel (qubit q, drive axis a) and each of the n = 2^N amplitude codes, the
realized operation: a unitary (d, d) when the gate is deterministic and closed (no DAC noise or jitter,
no T1/T2), else a channel (d^2, d^2) averaged over the DAC noise (:mod:`cryoctl.gates.realize`).
:func:`solve_plan` chooses how, before anything is allocated:

============  =================================================  ==============================================
method        chosen by ``auto`` when                            what is solved per channel
============  =================================================  ==============================================
levels        ``sampled`` mode, no reconstruction filter         one single-sample step per distinct (I, Q)
              (with noise: if the expansion bound <= 1e-12       level pair (a noisy step: its value and second
              and the per-level arrays fit in 1 GiB)             derivatives), composed per code (K - 1 matmuls)
quadrature    noise, no filter, otherwise (``scaled`` mode)      a Gauss-Hermite average of every (code, sample)
montecarlo    noise and a reconstruction filter                  ``n_draws`` noisy whole pulses per code
lindblad      T1/T2, static DAC, ``scaled`` mode or a filter     the Lindblad channel of each code's pulse
unitary       closed and static, ``scaled`` mode or a filter     the propagator of each code's pulse
============  =================================================  ==============================================

Forcing a method that would be wrong is an error: ``levels`` needs ``sampled`` mode and no filter (a
filtered sample is not a level), ``quadrature`` needs independent samples (no filter), ``montecarlo``
needs DAC noise, ``unitary`` a deterministic closed gate (``kind="unitary"`` forces one: the static
pulse on the closed system, what calibration scans), ``lindblad`` a noise-free channel.

Counts (n_ch = 2 n_qubits channels, K DAC samples, K_s = K * oversampling simulation samples). The
noise of a DAC sample pair is Gaussian with covariance C_k (:func:`cryoctl.dac.dynamic.pair_covariance`)
of rank m = 2 with white noise (both DACs are noisy even at a constant code), 1 with jitter only
(one shared clock draw moves both channels), 0 without; the quadrature uses n_nodes^m nodes per
sample (the former count, n_nodes per noisy channel guessed from the pulse shape, said 3 where a
Gaussian pulse with a white-noise Q DAC needs 9). The level stencil uses p points per level: 1
without noise; 3 along one noisy channel; 5 along both; 9 when jitter also correlates them (DRAG).

    solves  (matrix exponentials)  levels: n_ch L (p + [1 with T1/T2 factorised])
                                   quadrature: n_ch n K (nodes + [2 with T1/T2 factorised])
                                   montecarlo: n_ch n K_s (draws + [2 with T1/T2 factorised])
                                   unitary, lindblad: n_ch n K_s
            (``lindblad_solves`` counts those that are superoperator exponentials: the Lindblad steps)
    matmuls (time order)           levels, quadrature: n_ch n (K - 1); montecarlo: n_ch n draws (K_s - 1);
                                   unitary, lindblad: n_ch n (K_s - 1)

with L the distinct level pairs of a channel: at most 2^N for a Gaussian pulse (the other DAC sits at
code 0), at most n ceil(K / 2) with DRAG. ``seconds`` = solves x cost per exponential + matmuls x
cost per matmul (with its gather) + (code, sample) pairs x per-sample bookkeeping (levels, quadrature)
(:data:`UNIT_COSTS`, measured on the development machine; :func:`measure_unit_costs` re-measures the
first two by a tiny timed probe, for the CLI's display only).

Memory. The table itself, n_ch n side^2 16 bytes (complex128, side = d or d^2), preallocated once,
plus one channel's result before it is copied in (n side^2 16 bytes), plus the method's working set: per-level arrays (levels),
bounded chunks (every method), the code and index maps (2^N entries each).

Expansion bound (levels with noise, :func:`cryoctl.gates.realize.realize_levels`): the per-sample
error of the second-order average is <= 4 (d - 1)^2 tau^4 with tau = G s_max T_s, the largest
per-sample rotation error in rad, so K times that per code. For the shipped profiles tau ~ 1e-5 and
the bound is ~1e-17; above 1e-12 ``auto`` takes the quadrature instead.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from cryoctl.conventions import DRIVE_AXES, ENGINE_NAMES
from cryoctl.dac.dynamic import noise_sigma_v
from cryoctl.errors import CryoctlError
from cryoctl.physics.lindblad import dephasing_rate
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse.drive import drive_gain, filter_tail_samples
from cryoctl.pulse.envelope import lifted_gaussian

METHODS = ("auto", "levels", "quadrature", "montecarlo", "lindblad", "unitary")
KINDS = ("auto", "unitary", "channel")
DEFAULT_NODES = 3
DEFAULT_DRAWS = 32
#: largest per-code error bound of the second-order noise expansion that ``auto`` accepts for ``levels``
EXPANSION_BOUND = 1e-12
#: largest per-level working set (bytes) that ``auto`` accepts for ``levels`` (else quadrature)
LEVELS_MAX_BYTES = 1 << 30
#: seconds per operation, measured on the development machine (2 cores, numpy + OpenBLAS): one
#: single-sample exponential of a d x d Hamiltonian (eigh) or a d^2 x d^2 Lindblad generator
#: (Taylor), one batched matmul of unitaries (complex d x d) or channels (real d^2 x d^2), per d = 3
#: (matmuls timed with the gather that feeds them); "sample": the per-(code, sample) bookkeeping of the
#: levels and quadrature paths (DAC codes, level look-up, slopes and the jitter term), per d = 3
UNIT_COSTS = {"expm_unitary": 1.8e-6, "expm_channel": 3.0e-6, "matmul_unitary": 2.7e-7, "matmul_channel": 2.0e-7,
              "sample": 1.6e-7}
#: the reference engines integrate each waveform: roughly this many times the fast cost per sample
_ENGINE_FACTOR = {"fast": 1.0, "qutip": 300.0, "dynamics": 300.0, "jax": 1.0}
#: working chunks (bytes) the realizations use; the same constants bound their memory (realize imports them)
CHUNK_BYTES = 64 << 20
COMPOSE_BYTES = 4 << 20


def has_decoherence(profile: HardwareProfile) -> bool:
    """True when any qubit of ``profile`` has a T1 or T2 (resolved per qubit)."""
    return any(
        t.t1_us is not None or t.t2_us is not None
        for t in (profile.transmon(q) for q in range(profile.qubits.count))
    )


def is_dynamic(profile: HardwareProfile) -> bool:
    """True when the DAC adds white noise or clock jitter."""
    return profile.dac.noise_v_per_sqrt_hz > 0.0 or profile.dac.jitter_rms_ps > 0.0


def table_kind(profile: HardwareProfile) -> str:
    """"unitary" for a deterministic closed-system gate, else "channel"."""
    return "channel" if is_dynamic(profile) or has_decoherence(profile) else "unitary"


def noise_rank(profile: HardwareProfile) -> int:
    """Rank m of the per-sample noise covariance of an I/Q pair: 2 (white), 1 (jitter only), 0."""
    if noise_sigma_v(profile.dac) > 0.0:
        return 2
    return 1 if profile.dac.jitter_rms_ps > 0.0 else 0


def _envelope(profile: HardwareProfile) -> np.ndarray:
    p, spec = profile.pulse, profile.dac
    return lifted_gaussian(p.duration_ns, p.sigma_ns, spec.dt_ns)


def expansion_bound(profile: HardwareProfile) -> float:
    """Per-code bound K 4 (d - 1)^2 tau^4 of the second-order noise average (module docstring).

    tau = G s_max T_s with s_max^2 = 2 sigma_v^2 + (jitter x largest slope)^2 >= tr C_k (both DACs'
    white noise, the shared jitter along the slope), the largest slope taken from the full-scale
    envelope, max |e_k - e_{k-1}| V_fs / T_s.
    """
    spec = profile.dac
    env = _envelope(profile)
    k = env.size + filter_tail_samples(profile)
    slope = spec.full_scale_v * float(np.max(np.abs(np.diff(env, prepend=env[:1])))) / spec.dt_ns
    s_max = math.hypot(math.sqrt(2.0) * noise_sigma_v(spec), spec.jitter_rms_ps * 1e-3 * slope)
    tau = drive_gain(profile) * s_max * spec.dt_ns
    return k * 4.0 * (profile.qubits.levels - 1) ** 2 * tau**4


def stencil_points(profile: HardwareProfile) -> int:
    """Points p per level of the noise stencil (module docstring), the worst axis of the profile."""
    m = noise_rank(profile)
    if m == 0:
        return 1
    drag = profile.pulse.shape == "drag"
    if m == 2:
        return 9 if drag and profile.dac.jitter_rms_ps > 0.0 else 5
    return 9 if drag else 3


def level_pairs(profile: HardwareProfile) -> int:
    """Upper bound L of distinct (I code, Q code) pairs of one channel over the whole table."""
    n = 2**profile.dac.bits
    k = _envelope(profile).size
    return n if profile.pulse.shape != "drag" else min(n * ((k + 1) // 2), n * n)


@dataclass(frozen=True)
class SolvePlan:
    """How a profile's gate table is realized, and what it costs (module docstring)."""

    profile_name: str
    kind: str  # "unitary" | "channel"
    method: str  # "levels" | "quadrature" | "montecarlo" | "lindblad" | "unitary"
    engine: str
    bits: int
    n_qubits: int
    levels: int  # transmon levels d
    samples: int  # DAC samples K per pulse (with the filter tail)
    sim_samples: int  # K * oversampling
    decoherent: bool
    exact: bool  # noise x T1/T2: average the Lindblad steps themselves (no per-sample factorisation)
    noise_rank: int
    n_nodes: int
    n_draws: int
    level_pairs: int  # L (upper bound) for ``levels``, else 0
    stencil: int  # p for ``levels``, else 0
    solves: int  # matrix exponentials (single-sample steps), all kinds
    lindblad_solves: int  # of which Lindblad (superoperator) exponentials
    matmuls: int
    table_bytes: int
    working_bytes: int
    seconds: float
    expansion_bound: float  # per-code error bound of ``levels`` with noise (0 when exact)

    @property
    def n_channels(self) -> int:
        return self.n_qubits * len(DRIVE_AXES)

    @property
    def n_codes(self) -> int:
        return 2**self.bits

    @property
    def side(self) -> int:
        return self.levels if self.kind == "unitary" else self.levels**2

    @property
    def nodes(self) -> int:
        """Quadrature nodes per sample, n_nodes^noise_rank (``quadrature`` only; 1 otherwise)."""
        return self.n_nodes**self.noise_rank if self.method == "quadrature" else 1

    @property
    def memory_bytes(self) -> int:
        """Peak memory of the build: the table, one channel's block being copied in, the working set."""
        return self.table_bytes + self.table_bytes // max(1, self.n_channels) + self.working_bytes

    def describe(self) -> str:
        """One line: what is solved, how many solves, the estimated time and memory."""
        what = {
            "levels": f"level look-up ({self.level_pairs:,} level pairs x {self.stencil} points per channel)",
            "quadrature": f"per-sample Gauss-Hermite quadrature ({self.nodes} nodes per sample)",
            "montecarlo": f"Monte Carlo ({self.n_draws} noisy pulses per code)",
            "lindblad": "whole-pulse Lindblad channels",
            "unitary": "whole-pulse propagators",
        }[self.method]
        return (
            f"{self.profile_name} at {self.bits} bit: {self.kind} table, method {self.method} ({what}), "
            f"engine {self.engine}: "
            f"{self.n_channels} channels x {self.n_codes:,} codes x {self.samples} samples; "
            f"{self.solves:,} exponentials + {self.matmuls:,} matmuls, ~{_fmt_seconds(self.seconds)}; "
            f"memory ~{_fmt_bytes(self.memory_bytes)} (table {_fmt_bytes(self.table_bytes)})"
        )

    def with_unit_costs(self, unit_costs: dict[str, float]) -> "SolvePlan":
        """The same plan with ``seconds`` re-estimated from ``unit_costs`` (e.g. :func:`measure_unit_costs`)."""
        solves = (self.solves - self.lindblad_solves, self.lindblad_solves)
        samples = _samples(self.method, self.n_channels * self.n_codes * self.samples)
        return replace(self, seconds=_seconds(solves, self.matmuls, self.levels, self.side, self.engine,
                                              unit_costs, samples))

    def check_memory(self, limit_bytes: int | None = None) -> None:
        """Raise CryoctlError(field="memory") if the build would need more than ``limit_bytes``.

        Default limit: $CRYOCTL_MEMORY_LIMIT_GB (GB = 1e9 bytes) if set, else the memory available now
        (/proc/meminfo MemAvailable, else the free physical pages). No limit known: no check.
        """
        limit, source = (int(limit_bytes), "limit") if limit_bytes is not None else memory_limit()
        if limit is None or self.memory_bytes <= limit:
            return
        raise CryoctlError(
            f"the {self.bits}-bit {self.kind} table of {self.profile_name} needs ~{_fmt_bytes(self.memory_bytes)} "
            f"of memory (table {_fmt_bytes(self.table_bytes)}, + one channel's block and "
            f"{_fmt_bytes(self.working_bytes)} working), more than the {_fmt_bytes(limit)} {source}; "
            "use fewer bits or qubits (or set CRYOCTL_MEMORY_LIMIT_GB)", field="memory")


def memory_limit() -> tuple[int | None, str]:
    """(bytes, where from): $CRYOCTL_MEMORY_LIMIT_GB, else MemAvailable, else free pages, else None."""
    env = os.environ.get("CRYOCTL_MEMORY_LIMIT_GB")
    if env:
        try:
            gb = float(env)
        except ValueError:
            gb = float("nan")
        if not (math.isfinite(gb) and gb > 0):
            raise CryoctlError(f"expected a positive number of GB, got {env!r}", field="CRYOCTL_MEMORY_LIMIT_GB")
        return int(gb * 1e9), "set by CRYOCTL_MEMORY_LIMIT_GB"
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available (MemAvailable)"
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "available (free pages)"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def _fmt_bytes(b: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{int(b)} B"


def _fmt_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.3g} h"
    if s >= 60:
        return f"{s / 60:.3g} min"
    return f"{s:.2g} s"


def _choose(profile: HardwareProfile, kind: str, method: str) -> str:
    filtered = profile.dac.reconstruction_filter is not None
    sampled = profile.pulse.amplitude_mode == "sampled"
    noisy = kind == "channel" and is_dynamic(profile)
    if method == "auto":
        if noisy:
            if filtered:
                return "montecarlo"
            fits = level_pairs(profile) * stencil_points(profile) * profile.qubits.levels**4 * 8 <= LEVELS_MAX_BYTES
            if sampled and fits and expansion_bound(profile) <= EXPANSION_BOUND:
                return "levels"
            return "quadrature"
        if sampled and not filtered:
            return "levels"
        return "lindblad" if kind == "channel" else "unitary"
    why = None
    if method == "levels" and not (sampled and not filtered):
        why = ("needs pulse.amplitude_mode 'sampled' (every sample one DAC level) and no reconstruction "
               "filter (a filtered sample is not a level)")
    elif method == "quadrature" and (filtered or kind != "channel"):
        why = ("needs independent per-sample perturbations (a reconstruction filter correlates them: use "
               "'montecarlo' or 'auto')" if filtered else "averages noise into a channel; this table is unitary")
    elif method == "montecarlo" and not noisy:
        why = "averages DAC noise draws; this table has no DAC noise or jitter (use 'auto')"
    elif method == "lindblad" and (kind != "channel" or noisy):
        why = "is the noise-free channel; this table is " + ("noisy (use 'auto')" if noisy else "unitary")
    elif method == "unitary" and kind != "unitary":
        why = "is for deterministic closed gates; this table is a channel (noise or T1/T2)"
    if why:
        raise CryoctlError(f"method {method!r} {why}", field="method")
    return method


def solve_plan(
    profile: HardwareProfile,
    engine: str = "fast",
    method: str = "auto",
    n_nodes: int = DEFAULT_NODES,
    n_draws: int = DEFAULT_DRAWS,
    *,
    kind: str = "auto",
    exact: bool = False,
    unit_costs: dict[str, float] | None = None,
) -> SolvePlan:
    """The plan of ``profile``'s gate table (module docstring); nothing large is allocated.

    ``kind``: "auto" (:func:`table_kind`), "unitary" (the static pulse on the closed system, whatever
    the profile's noise and T1/T2: what a calibration scan measures) or "channel". ``exact``: with
    noise and T1/T2, average the Lindblad steps themselves. ``unit_costs`` overrides :data:`UNIT_COSTS`
    for the time estimate only.
    """
    if not isinstance(engine, str) or engine not in ENGINE_NAMES:
        raise CryoctlError(f"unknown engine {engine!r}; expected one of {list(ENGINE_NAMES)}", field="engine")
    if method not in METHODS:
        raise CryoctlError(f"unknown method {method!r}; expected one of {list(METHODS)}", field="method")
    if kind not in KINDS:
        raise CryoctlError(f"unknown kind {kind!r}; expected one of {list(KINDS)}", field="kind")
    for name, value in (("n_nodes", n_nodes), ("n_draws", n_draws)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise CryoctlError(f"expected an integer >= 1, got {value!r}", field=name)
    kind = table_kind(profile) if kind == "auto" else kind
    how = _choose(profile, kind, method)
    spec = profile.dac
    d = profile.qubits.levels
    n_ch = profile.qubits.count * len(DRIVE_AXES)
    n = 2**spec.bits
    k = _envelope(profile).size + filter_tail_samples(profile) + (1 if spec.reconstruction_filter else 0)
    k_sim = k * spec.oversampling
    decoherent = kind == "channel" and has_decoherence(profile)
    rank = noise_rank(profile) if kind == "channel" else 0
    factorised = decoherent and rank > 0 and not exact
    side = d if kind == "unitary" else d * d
    pairs = stencil = 0
    # (unitary exponentials, Lindblad exponentials) per channel; every noisy point is a Lindblad step
    # only when T1/T2 are averaged exactly, else the factorisation adds one U0 and one P0 per sample
    lind = decoherent and (exact or rank == 0)
    if how == "levels":
        pairs, stencil = level_pairs(profile), (stencil_points(profile) if rank else 1)
        per = (0, stencil) if lind else ((stencil, 1) if factorised else (stencil, 0))
        solves = tuple(n_ch * pairs * x for x in per)
        matmuls = n_ch * n * (k - 1)
    elif how == "quadrature":
        m = n_nodes**rank
        per = (0, m) if lind else ((m + 1, 1) if factorised else (m, 0))
        solves = tuple(n_ch * n * k * x for x in per)
        matmuls = n_ch * n * (k - 1)
    elif how == "montecarlo":
        per = (0, n_draws) if lind else ((n_draws + 1, 1) if factorised else (n_draws, 0))
        solves = tuple(n_ch * n * k_sim * x for x in per)
        matmuls = n_ch * n * n_draws * (k_sim - 1)
    else:
        solves = (0, n_ch * n * k_sim) if decoherent else (n_ch * n * k_sim, 0)
        matmuls = n_ch * n * (k_sim - 1)
    seconds = _seconds(solves, matmuls, d, side, engine, unit_costs, _samples(how, n_ch * n * k))
    table = n_ch * n * side * side * 16
    index_maps = 3 * n * 8  # code -> I id, code -> Q id, pair -> level
    if how == "levels":
        working = pairs * (stencil + 1) * side * side * 16 + index_maps + 3 * CHUNK_BYTES
    else:
        working = 4 * CHUNK_BYTES + n * 8
    bound = expansion_bound(profile) if how == "levels" and rank else 0.0
    return SolvePlan(
        profile_name=profile.name, kind=kind, method=how, engine=engine, bits=spec.bits,
        n_qubits=profile.qubits.count, levels=d, samples=k, sim_samples=k_sim, decoherent=decoherent,
        exact=bool(exact), noise_rank=rank, n_nodes=int(n_nodes), n_draws=int(n_draws), level_pairs=pairs,
        stencil=stencil, solves=int(sum(solves)), lindblad_solves=int(solves[1]), matmuls=int(matmuls), table_bytes=int(table),
        working_bytes=int(working), seconds=float(seconds), expansion_bound=float(bound),
    )


def _samples(method: str, code_samples: int) -> int:
    """(code, DAC sample) pairs with per-sample bookkeeping: the levels and quadrature paths."""
    return code_samples if method in ("levels", "quadrature") else 0


def _seconds(solves: tuple[int, int], matmuls: int, d: int, side: int, engine: str,
             unit_costs: dict[str, float] | None, samples: int = 0) -> float:
    """(unitary, Lindblad) exponentials x their unit costs x engine factor + matmuls x cost per matmul
    + samples x per-sample cost (the d = 3 unit costs scaled as d^3 for d x d and d^6 for superoperators)."""
    costs = {**UNIT_COSTS, **(unit_costs or {})}
    scale = (d / 3.0) ** 3
    expm = solves[0] * costs["expm_unitary"] * scale + solves[1] * costs["expm_channel"] * scale**2
    mm = costs["matmul_channel" if side == d * d else "matmul_unitary"] * (scale**2 if side == d * d else scale)
    return float(expm * _ENGINE_FACTOR[engine] + matmuls * mm + samples * costs["sample"] * side * side / 81)


@lru_cache(maxsize=1)
def measure_unit_costs() -> dict[str, float]:
    """Unit costs (seconds) of this machine by a tiny timed probe (~0.1 s), for displayed estimates only.

    A "matmul" is timed as the composition does it: a gather of 64 x 128 steps from a table of 4096
    (real 9 x 9 or complex 3 x 3) and their pairwise time-ordered product, per matmul; then 2^12
    real-symmetric 3 x 3 eigendecompositions and 2^11 Taylor exponentials of 9 x 9 real matrices
    (best of 3 each).
    """
    from cryoctl.physics.fast import time_ordered_product
    from cryoctl.physics.lindblad import expm_batched

    rng = np.random.default_rng(0)
    idx = rng.integers(0, 4096, (64, 128))
    a9 = 0.3 * rng.standard_normal((4096, 9, 9))
    a3 = 0.3 * (rng.standard_normal((4096, 3, 3)) + 1j * rng.standard_normal((4096, 3, 3)))
    h = rng.standard_normal((1 << 12, 3, 3))
    h = h + np.swapaxes(h, -1, -2)
    g = 0.1 * rng.standard_normal((1 << 11, 9, 9))

    def best(fn, n):
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return min(t) / n

    return {
        "matmul_channel": best(lambda: time_ordered_product(a9[idx]), idx.shape[0] * (idx.shape[1] - 1)),
        "matmul_unitary": best(lambda: time_ordered_product(a3[idx]), idx.shape[0] * (idx.shape[1] - 1)),
        "expm_unitary": best(lambda: np.linalg.eigh(h), h.shape[0]) * 2.0,  # + phases and V D V'
        "expm_channel": best(lambda: expm_batched(g), g.shape[0]),
    }


def idle_floor_infidelity(profile: HardwareProfile) -> tuple[float, float] | None:
    """(1 - F_avg, t_ns) of a qubit idling for as long as a gate is played; None without T1/T2.

    Amplitude damping + dephasing over time t on the qubit block: p1 -> p1 e^{-t/T1} and
    rho_01 -> rho_01 e^{-t/T2}, so the row-major superoperator has trace
    Tr S = 1 + e^{-t/T1} + 2 e^{-t/T2}, F_e = Tr S / 4 and F_avg = (2 F_e + 1) / 3:

        F_avg = (3 + e^{-t/T1} + 2 e^{-t/T2}) / 6.

    The coherence rate is 1/T2 = 1/(2 T1) + 1/T_phi with 1/T_phi from
    :func:`cryoctl.physics.lindblad.dephasing_rate` (T2 = 2 T1 when only T1 is set, no T1 decay when
    only T2 is set), exactly as the engines model it. t is the played waveform (pulse + filter tail and
    lead sample), the time the decoherence acts during one gate. With per-qubit T1/T2 the mean over the
    qubits of the register is returned (a qubit without T1/T2 contributes 0).
    """
    if not has_decoherence(profile):
        return None
    spec = profile.dac
    tail = filter_tail_samples(profile)
    t_ns = (_envelope(profile).size + tail + (1 if tail else 0)) * spec.dt_ns
    infid = []
    for q in range(profile.qubits.count):
        t = profile.transmon(q)
        g1 = 0.0 if t.t1_us is None else 1.0 / (t.t1_us * 1e3)
        g2 = 0.5 * g1 + dephasing_rate(t.t1_us, t.t2_us)
        infid.append(1.0 - (3.0 + math.exp(-t_ns * g1) + 2.0 * math.exp(-t_ns * g2)) / 6.0)
    return float(np.mean(infid)), float(t_ns)
