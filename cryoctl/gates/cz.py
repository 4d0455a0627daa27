"""The realized CZ of a coupled pair, played as codes on a flux DAC (DESIGN.md 'Flux line and two-qubit gates').

System. Two d-level transmons a, b (``pair``, qubit a = left tensor factor) in a frame rotating at the
static qubit's idle frequency f_ref (:meth:`cryoctl.physics.SystemModel.coupled_transmons`):

    H(t) = sum_q [ delta_q n_q + (alpha_q/2) n_q (n_q - 1) ] + J (b_a' b_b + b_a b_b') + s(t) n_f,

delta_q = 2 pi (f_q(idle) - f_ref), s(t) = 2 pi [f_01(Phi(t)) - f_01(Phi_idle)] the flux signal of the
fluxed qubit f (:class:`cryoctl.pulse.flux.FluxDrive`: codes -> DAC -> line -> Phi(t)). The fluxed qubit is
the one with the higher idle frequency; the flux pulse lowers it to the |11>-|20> resonance
f_f = f_ref - alpha_f, where the pair {|11>, |20>} (2 on the fluxed qubit) is coupled by sqrt(2) J: a square
pulse of pi / (sqrt(2) J) returns |11> with a minus sign.

Realized gate. U (or the Lindblad channel S) of the gate slot (pulse + buffer, K samples of dt) is
reported in the dressed idle basis (the eigenstates V of the idle Hamiltonian, labelled by the bare
state they overlap most: what readout resolves; the bare basis differs by the static J/Delta
hybridisation) and in the idle frame of each qubit: U_idle = R V' U V with
R = exp(+i (w_a n_a + w_b n_b) K dt), w_a = E_10 - E_00 and w_b = E_01 - E_00 the dressed qubit
frequencies (S_idle = kron(R V', (R V')*) S kron(V, V*)). The idle ZZ stays part of the gate.

Metrics (computational states |ij>, i, j in {0, 1}, index i d + j; M = U restricted to them):

- phases phi_ij = arg M_ij,ij; conditional phase phi = phi_11 - phi_01 - phi_10 + phi_00 (wrapped to
  [0, 2 pi)); its error wrap(phi - pi) in [-pi, pi);
- leakage L1 = 1 - (1/4) sum_{i, j comp} |<i|U|j>|^2;
- virtual-Z corrections (single-qubit frame updates fitted from U): theta_a = phi_10 - phi_00,
  theta_b = phi_01 - phi_00, rounded to 2 pi / 2^phase_bits when phase_bits is given;
  C = exp(-i theta_a n_a) (x) exp(-i theta_b n_b) makes the |01>, |10> phases equal to |00>'s, so
  C M = e^{i phi_00} diag(1, 1, 1, e^{i phi}) + off-diagonal error;
- two-qubit average gate fidelity F = (Tr(M M') + |Tr M|^2) / 20 with M = CZ' (C U)_comp (Pedersen et al.
  2007, d = 4).

For a channel S (row-major, S[(i d + j), (k d + l)] = <i|E(|k><l|)|j>) the same quantities are
phi_k - phi_00 = arg S[(k, 00), (k, 00)], L1 = 1 - (1/4) sum_{k, j comp} S[(k, k), (j, j)], and
F = (4 F_pro + 1 - L1) / 5 with F_pro = (1/16) sum_{k, l comp} v_k v_l S_c[(k, l), (k, l)] (v = diag CZ,
S_c the corrected channel); for S = kron(U, U*) both reduce to the unitary formulas.

Calibration (:func:`calibrate_cz`), as in a lab, through the quantized flux DAC: a model guess from the
tuning curve (amplitude code of the resonance flux, duration pi / (sqrt(2) J) plus the rise), then for
each pulse duration n (whole samples, n0 - w .. n0 + w; the window moves when the optimum sits on its
edge) an amplitude-code scan around the guess, refined stage by stage (stride -> stride / m, down to
single codes), one batched engine call per stage for all durations and codes, every candidate played in
the same slot (longest pulse + buffer); finally the slot is trimmed to the chosen pulse + buffer and the
amplitude re-centred there (one more call). Every scanned point is scored by what a lab measures,
conditional phase and leakage:

    cost = w_L L1 + (3/10) (1 - cos(phi - pi)),

which is 1 - F to second order for a diagonal error (a conditional-phase error delta alone gives
1 - F = (3/10)(1 - cos delta)); w_L = 0 calibrates the phase alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cryoctl.conventions import kron_conj, wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.physics import SystemModel, get_engine
from cryoctl.pulse.flux import FluxDrive, cz_codes, frequency_slope
from cryoctl.pulse.frame import quantize_phase

CZ_DIAG = np.array([1.0, 1.0, 1.0, -1.0])


def computational_indices(levels: int) -> np.ndarray:
    """Indices of |00>, |01>, |10>, |11> in the d x d pair space (qubit a is the left factor)."""
    d = int(levels)
    return np.array([0, 1, d, d + 1])


def virtual_z_pair(theta_a, theta_b, levels: int) -> np.ndarray:
    """Diagonal of C = exp(-i theta_a n_a) (x) exp(-i theta_b n_b), shape (..., d^2)."""
    n = np.arange(levels)
    ta = np.asarray(theta_a, dtype=float)[..., None, None]
    tb = np.asarray(theta_b, dtype=float)[..., None, None]
    phase = ta * n[:, None] + tb * n[None, :]
    return np.exp(-1j * phase).reshape(*phase.shape[:-2], levels * levels)


@dataclass(frozen=True)
class CzMetrics:
    """Batched CZ metrics (every field has the batch shape of the realized operations)."""

    conditional_phase: np.ndarray  # [0, 2 pi)
    phase_error: np.ndarray  # wrap(phi - pi), [-pi, pi)
    leakage: np.ndarray
    fidelity: np.ndarray
    theta_a: np.ndarray  # virtual-Z corrections applied (quantized when phase_bits is given)
    theta_b: np.ndarray

    @property
    def infidelity(self) -> np.ndarray:
        return 1.0 - self.fidelity

    def cost(self, leakage_weight: float = 1.0) -> np.ndarray:
        """Lab score w_L L1 + (3/10)(1 - cos(phi - pi)) (module docstring)."""
        return leakage_weight * self.leakage + 0.3 * (1.0 - np.cos(self.phase_error))


def cz_metrics(u: np.ndarray, levels: int, phase_bits: int | None = None) -> CzMetrics:
    """Metrics of unitaries u (..., d^2, d^2) of a pair (module docstring)."""
    u = np.asarray(u)
    idx = computational_indices(levels)
    m = u[..., idx[:, None], idx[None, :]]
    diag = np.angle(np.diagonal(m, axis1=-2, axis2=-1))
    p00, p01, p10, p11 = (diag[..., k] for k in range(4))
    cond = np.mod(p11 - p01 - p10 + p00, 2 * np.pi)
    leak = 1.0 - 0.25 * np.sum(np.abs(m) ** 2, axis=(-2, -1))
    ta, tb = p10 - p00, p01 - p00
    if phase_bits is not None:
        ta, tb = quantize_phase(ta, phase_bits), quantize_phase(tb, phase_bits)
    c = virtual_z_pair(ta, tb, levels)[..., idx]
    mc = CZ_DIAG[:, None] * c[..., :, None] * m  # CZ' (C U)_comp
    tr = np.trace(mc, axis1=-2, axis2=-1)
    fid = (np.sum(np.abs(mc) ** 2, axis=(-2, -1)) + np.abs(tr) ** 2) / 20.0
    return CzMetrics(cond, wrap_angle(cond - np.pi), leak, fid, ta, tb)


def channel_cz_metrics(s: np.ndarray, levels: int, phase_bits: int | None = None) -> CzMetrics:
    """Metrics of row-major channels s (..., d^4, d^4) of a pair (module docstring)."""
    s = np.asarray(s)
    d2 = levels * levels
    idx = computational_indices(levels)
    pair = idx[:, None] * d2 + idx[None, :]  # vec index of |k><l|, (4, 4)
    coh = s[..., pair[:, 0], pair[:, 0]]  # <k|E(|k><00|)|00>, (..., 4)
    rel = np.angle(coh)  # phi_k - phi_00 (rel[0] = 0 for a near-unitary gate)
    cond = np.mod(rel[..., 3] - rel[..., 1] - rel[..., 2], 2 * np.pi)
    diag_in = pair[np.arange(4), np.arange(4)]  # |j><j|
    pops = s[..., diag_in[:, None], diag_in[None, :]].real  # <k|E(|j><j|)|k>
    leak = 1.0 - 0.25 * np.sum(pops, axis=(-2, -1))
    ta, tb = rel[..., 2], rel[..., 1]
    if phase_bits is not None:
        ta, tb = quantize_phase(ta, phase_bits), quantize_phase(tb, phase_bits)
    c = virtual_z_pair(ta, tb, levels)[..., idx]  # (..., 4)
    # S_c[(k, l), (k, l)] = c_k c_l^* S[(k, l), (k, l)]
    s_kl = s[..., pair, pair]  # (..., 4, 4)
    corrected = c[..., :, None] * np.conj(c)[..., None, :] * s_kl
    f_pro = np.real(np.sum(CZ_DIAG[:, None] * CZ_DIAG[None, :] * corrected, axis=(-2, -1))) / 16.0
    fid = (4.0 * f_pro + 1.0 - leak) / 5.0
    return CzMetrics(cond, wrap_angle(cond - np.pi), leak, fid, ta, tb)


@dataclass(frozen=True, eq=False)
class CzPair:
    """A coupled pair set up for a flux CZ: the model, the flux drive of the fluxed qubit, the frame.

    Build it with :meth:`from_profile`; see the module docstring for the physics.
    """

    qubits: tuple[int, int]
    fluxed: int  # position (0 or 1) of the fluxed qubit within ``qubits``
    model: SystemModel
    drive: FluxDrive
    idle_ghz: tuple[float, float]  # idle f_01 of both qubits
    coupling_ghz: float
    levels: int
    anharmonicities_ghz: tuple[float, float]
    rise_samples: int
    buffer_samples: int
    shape: str
    phase_bits: int | None = None  # virtual-Z phase words (profile.pulse.phase_bits); None = exact

    @classmethod
    def from_profile(cls, profile, pair: tuple[int, int] | None = None) -> "CzPair":
        """The pair ``pair`` (default: the first coupling) of a profile with a ``flux`` section.

        Both qubits need an entry in ``flux.qubits`` (their idle frequency is f_01(idle flux); a fixed
        qubit has asymmetry 1); the one idling higher is fluxed. J from ``profile.couplings``, alpha, levels,
        T1/T2 from ``profile.transmon(q)``, the virtual-Z resolution from ``profile.pulse.phase_bits``."""
        flux = getattr(profile, "flux", None)
        if flux is None:
            raise CryoctlError("the profile has no flux section (flux DAC, tunable qubits)", field="flux")
        if pair is None:
            if not profile.couplings:
                raise CryoctlError("the profile has no couplings; a CZ needs a coupled pair", field="couplings")
            pair = tuple(profile.couplings[0].qubits)
        a, b = (int(q) for q in pair)
        j_ghz = profile.coupling_ghz(a, b)
        if j_ghz <= 0:
            raise CryoctlError(f"qubits {a} and {b} are not coupled", field="couplings")
        ta, tb = profile.transmon(a), profile.transmon(b)
        alphas = (ta.anharmonicity_ghz, tb.anharmonicity_ghz)
        drives = [FluxDrive(flux, q, al) for q, al in zip((a, b), alphas)]
        idle = tuple(dr.idle_frequency_ghz for dr in drives)
        fluxed = 0 if idle[0] > idle[1] else 1
        static = 1 - fluxed
        target = idle[static] - alphas[fluxed]
        if not idle[fluxed] > target:
            raise CryoctlError(
                f"the fluxed qubit {(a, b)[fluxed]} idles at {idle[fluxed]:.4g} GHz, below the |11>-|20> point "
                f"{target:.4g} GHz: it must idle above f_static - alpha",
                field="flux.qubits",
            )
        if drives[fluxed].tunable.asymmetry >= 1.0:
            raise CryoctlError(f"qubit {(a, b)[fluxed]} is not tunable (asymmetry = 1)", field="flux.qubits")
        f_ref = idle[static]
        model = SystemModel.coupled_transmons(
            ta.levels,
            (idle[0] - f_ref, idle[1] - f_ref),
            alphas,
            j_ghz,
            t1_us=(ta.t1_us, tb.t1_us),
            t2_us=(ta.t2_us, tb.t2_us),
        )
        return cls(
            qubits=(a, b),
            fluxed=fluxed,
            model=model,
            drive=drives[fluxed],
            idle_ghz=idle,
            coupling_ghz=j_ghz,
            levels=ta.levels,
            rise_samples=int(round(flux.rise_ns / flux.dac.dt_ns)),
            buffer_samples=int(math.ceil(flux.buffer_ns / flux.dac.dt_ns - 1e-9)),
            shape=flux.cz_shape,
            phase_bits=profile.pulse.phase_bits,
            anharmonicities_ghz=alphas,
        )

    # -- derived quantities ------------------------------------------------------------------------------
    @property
    def channel_name(self) -> str:
        return f"flux{self.fluxed}"

    @property
    def dt_ns(self) -> float:
        """Engine sample period (the flux DAC period / oversampling)."""
        return self.drive.dt_ns

    @property
    def dac_dt_ns(self) -> float:
        return self.drive.spec.dac.dt_ns

    @property
    def target_frequency_ghz(self) -> float:
        """f_01 of the fluxed qubit at the |11>-|20> resonance: f_static - alpha_fluxed."""
        return self.idle_ghz[1 - self.fluxed] - self.anharmonicities_ghz[self.fluxed]

    @property
    def swap_time_ns(self) -> float:
        """pi / (sqrt(2) J), the square-pulse CZ time."""
        return np.pi / (np.sqrt(2.0) * 2 * np.pi * self.coupling_ghz)

    @cached_property
    def guess_code(self) -> float:
        """Model amplitude code (real) whose flat top reaches the resonance."""
        return self.drive.code_for_frequency(self.target_frequency_ghz)

    @cached_property
    def guess_samples(self) -> int:
        """Model pulse duration in DAC samples: swap time + the rise (the two half ramps)."""
        return int(round(self.swap_time_ns / self.dac_dt_ns)) + self.rise_samples

    def mhz_per_code(self, code: float) -> float:
        """|df_01 / dcode| (MHz) of the fluxed qubit at amplitude code ``code`` (ideal DAC)."""
        t = self.drive.tunable
        phi = t.idle_flux_phi0 + code * self.drive.phi_per_code
        return abs(float(frequency_slope(phi, t.f_max_ghz, t.asymmetry, self.drive.alpha_ghz))) * self.drive.phi_per_code * 1e3

    @cached_property
    def dressed(self) -> tuple[np.ndarray, np.ndarray]:
        """(V, E): eigenvectors of the idle Hamiltonian as columns labelled by the bare state they overlap
        most (phase fixed so that <bare k|V_k> > 0), and their energies (rad/ns)."""
        evals, evecs = np.linalg.eigh(self.model.static)
        label = np.argmax(np.abs(evecs), axis=0)
        if len(set(label.tolist())) != len(label):
            raise CryoctlError("idle eigenstates are too hybridised to label (J too close to a detuning)", field="couplings")
        v = np.zeros_like(evecs, dtype=complex)
        e = np.zeros_like(evals)
        v[:, label] = evecs * np.sign(evecs[label, np.arange(len(label))])
        e[label] = evals
        return v, e

    @cached_property
    def _frame_energies(self) -> np.ndarray:
        """i w_a + j w_b for every basis state |ij>, with w_a, w_b the dressed qubit frequencies
        (E_10 - E_00, E_01 - E_00, rad/ns): the single-qubit idle precession removed by the idle frame."""
        _, e = self.dressed
        d = self.levels
        n = np.arange(d)
        wa, wb = e[d] - e[0], e[1] - e[0]
        return (wa * n[:, None] + wb * n[None, :]).reshape(-1)

    def to_idle_frame(self, u: np.ndarray, n_samples: int) -> np.ndarray:
        """R V' U V: U in the dressed idle basis, with R = exp(+i (w_a n_a + w_b n_b) T), T = n_samples * dt
        (module docstring); ZZ accumulated at idle stays in the gate, as in hardware."""
        v, _ = self.dressed
        r = np.exp(1j * self._frame_energies * n_samples * self.dt_ns)
        return r[:, None] * (np.conj(v).T @ u @ v)

    # -- realization -------------------------------------------------------------------------------------
    def codes(self, amplitude_codes, n_samples, slot_samples: int | None = None) -> np.ndarray:
        """CZ code sequences (..., slot) for amplitude codes and durations (broadcast together)."""
        n = np.asarray(n_samples)
        slot = int(n.max()) + self.buffer_samples if slot_samples is None else int(slot_samples)
        return cz_codes(amplitude_codes, n, self.rise_samples, slot, self.shape)

    def signals(self, codes, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        return {self.channel_name: self.drive.signal(codes, rng)}

    def realize(self, codes, engine="fast", open_system: bool = False, rng: np.random.Generator | None = None):
        """Realized operation of flux code sequences (..., K): U (..., D, D), or the channel (..., D^2, D^2)
        with the model's T1/T2 when ``open_system``; in the qubits' idle frames (module docstring)."""
        eng = get_engine(engine)
        sig = self.signals(codes, rng)
        k = next(iter(sig.values())).shape[-1]
        if open_system:
            s = eng.channel(self.model, sig, self.dt_ns)
            v, _ = self.dressed
            w = self.to_idle_frame(np.eye(self.model.dim), k) @ np.conj(v).T  # R V'
            return kron_conj(w) @ s @ kron_conj(v)
        return self.to_idle_frame(eng.propagate(self.model, sig, self.dt_ns), k)

    def metrics(self, op: np.ndarray, open_system: bool = False) -> CzMetrics:
        if open_system:
            return channel_cz_metrics(op, self.levels, self.phase_bits)
        return cz_metrics(op, self.levels, self.phase_bits)


@dataclass(frozen=True)
class CzScanStage:
    """One stage of the calibration scan: codes (n_dur, n_amp) per duration and their metrics."""

    durations: np.ndarray
    amplitude_codes: np.ndarray
    metrics: CzMetrics
    cost: np.ndarray


@dataclass(frozen=True)
class CzCalibration:
    """The calibrated CZ of a pair: pulse parameters, codes, metrics at the chosen point and the scans."""

    qubits: tuple[int, int]
    amplitude_code: int
    n_samples: int
    rise_samples: int
    slot_samples: int
    shape: str
    codes: np.ndarray  # (slot,) flux-DAC words (before predistortion)
    gate_time_ns: float
    conditional_phase: float
    phase_error: float
    leakage: float
    fidelity: float
    theta_a: float
    theta_b: float
    per_duration: dict  # duration -> (best code, phase error, leakage, cost) at the final stage
    stages: tuple[CzScanStage, ...]  # the final duration window's stages (+ the slot trim)
    engine_calls: int  # batched engine calls, all windows
    pulses_simulated: int  # waveforms simulated, all windows

    @property
    def infidelity(self) -> float:
        return 1.0 - self.fidelity


def calibrate_cz(
    pair: CzPair,
    engine="fast",
    durations=None,
    duration_window: int = 3,
    window_mhz: float = 40.0,
    points: int = 12,
    leakage_weight: float = 1.0,
    slot_samples: int | None = None,
) -> CzCalibration:
    """Lab-style CZ calibration through the quantized flux DAC (module docstring).

    ``durations``: pulse lengths in DAC samples (default guess +- ``duration_window``); ``window_mhz``: half
    width of the first amplitude scan in fluxed-qubit detuning; ``points``: codes per side per stage.
    The gate slot is the longest duration + the buffer (or ``slot_samples``) for every point, so all
    candidates are compared as gates of the same length.
    """
    auto = durations is None
    min_n = 2 * pair.rise_samples + 1
    if auto:
        lo = max(min_n, pair.guess_samples - duration_window)
        durations = np.arange(lo, pair.guess_samples + duration_window + 1)
    durations = np.asarray(durations, dtype=np.int64).reshape(-1)
    if durations.size == 0 or durations.min() < 1:
        raise CryoctlError(f"expected pulse durations >= 1 sample, got {durations.tolist()}", field="durations")
    dac = pair.drive.dac
    points = max(2, int(points))
    guess = pair.guess_code
    if not (1 <= guess <= dac.code_max):
        raise CryoctlError(
            f"the resonance needs amplitude code {guess:.1f}, outside [1, {dac.code_max}]: raise flux.full_scale_phi0",
            field="flux.full_scale_phi0",
        )
    eng = get_engine(engine)
    calls = pulses = 0
    for _shift in range(6):  # a lab widens the chevron when the optimum sits on its edge
        slot = int(durations.max()) + pair.buffer_samples if slot_samples is None else int(slot_samples)
        stages, best, centers = _amplitude_stages(pair, eng, durations, slot, guess, window_mhz, points, leakage_weight)
        calls += len(stages)
        pulses += sum(st.amplitude_codes.size for st in stages)
        final = stages[-1]
        i_best = int(np.argmin(final.cost[np.arange(len(durations)), best]))
        width = len(durations)
        if not auto or width < 3:
            break
        if i_best == width - 1 and slot_samples is None:
            durations = durations + (width - 1) // 2 + 1
        elif i_best == 0 and durations[0] > min_n:
            durations = np.arange(max(min_n, durations[0] - (width - 1) // 2 - 1), durations[-1] - (width - 1) // 2)
        else:
            break
    final = stages[-1]
    rows = np.arange(len(durations))
    best_cost = final.cost[rows, best]
    fm = final.metrics
    per_duration = {
        int(n): (int(centers[r]), float(fm.phase_error[r, best[r]]), float(fm.leakage[r, best[r]]), float(best_cost[r]))
        for r, n in enumerate(durations)
    }
    i = int(np.argmin(best_cost))
    if slot_samples is None and slot > int(durations[i]) + pair.buffer_samples:
        # trim the slot to the chosen pulse + buffer and re-centre the amplitude there (one more call)
        n_best = durations[i : i + 1]
        slot = int(n_best[0]) + pair.buffer_samples
        amps = np.clip(centers[i] + np.arange(-points, points + 1), 1, dac.code_max)[None, :]
        m = pair.metrics(pair.realize(pair.codes(amps, n_best[:, None], slot), eng))
        trim = CzScanStage(n_best, amps, m, m.cost(leakage_weight))
        stages, durations, best, calls, i = [*stages, trim], n_best, np.argmin(trim.cost, axis=1), calls + 1, 0
        pulses += amps.size
        final, fm = trim, m
    j = int(best[i])
    return CzCalibration(
        qubits=pair.qubits,
        amplitude_code=int(final.amplitude_codes[i, j]),
        n_samples=int(durations[i]),
        rise_samples=pair.rise_samples,
        slot_samples=slot,
        shape=pair.shape,
        codes=pair.codes(final.amplitude_codes[i, j], durations[i], slot),
        gate_time_ns=slot * pair.dac_dt_ns,
        conditional_phase=float(fm.conditional_phase[i, j]),
        phase_error=float(fm.phase_error[i, j]),
        leakage=float(fm.leakage[i, j]),
        fidelity=float(fm.fidelity[i, j]),
        theta_a=float(fm.theta_a[i, j]),
        theta_b=float(fm.theta_b[i, j]),
        per_duration=per_duration,
        stages=tuple(stages),
        engine_calls=calls,
        pulses_simulated=pulses,
    )


def _amplitude_stages(pair, eng, durations, slot, guess, window_mhz, points, leakage_weight):
    """Stage-refined amplitude scans for every duration (one batched engine call per stage)."""
    dac = pair.drive.dac
    half = max(2.0, window_mhz / pair.mhz_per_code(guess))
    stride = max(1, int(math.ceil(half / points)))
    centers = np.full(durations.shape, int(round(guess)))
    stages = []
    while True:
        offsets = stride * np.arange(-points, points + 1)
        amps = np.clip(centers[:, None] + offsets[None, :], 1, dac.code_max)
        codes = pair.codes(amps, durations[:, None], slot)
        m = pair.metrics(pair.realize(codes, eng))
        cost = m.cost(leakage_weight)
        stages.append(CzScanStage(durations, amps, m, cost))
        best = np.argmin(cost, axis=1)
        centers = amps[np.arange(len(durations)), best]
        if stride == 1:
            return stages, best, centers
        stride = max(1, int(math.ceil(stride / points)))


@dataclass(frozen=True)
class RealizedCz:
    """A built CZ: calibration, the realized operation (virtual-Z corrected, idle frames) and metrics."""

    calibration: CzCalibration
    operation: np.ndarray  # C U (D, D) or kron_conj(C) S (D^2, D^2)
    open_system: bool
    metrics: CzMetrics


def build_cz(profile, pair: tuple[int, int] | None = None, engine="fast", open_system: bool | None = None, **calibrate) -> RealizedCz:
    """Calibrate the CZ of ``pair`` on the profile's flux DAC and realize it (channel with T1/T2 when the
    profile has any, unless ``open_system`` says otherwise); the virtual-Z corrections are applied."""
    p = CzPair.from_profile(profile, pair)
    cal = calibrate_cz(p, engine=engine, **calibrate)
    if open_system is None:
        open_system = p.model.is_open
    op = p.realize(cal.codes, engine, open_system=open_system)
    m = p.metrics(op, open_system)
    c = virtual_z_pair(float(m.theta_a), float(m.theta_b), p.levels)
    if open_system:
        cc = kron_conj(np.diag(c))
        corrected = cc @ op
    else:
        corrected = c[:, None] * op
    return RealizedCz(cal, corrected, open_system, m)


# --- resolution sweeps: one realized CZ per (flux-DAC configuration, pair) ---------------------------------------


def flux_bits_overrides(profile, bits: int) -> list[str]:
    """Overrides giving the profile's flux DAC ``bits`` bits, same architecture (a flux-resolution what-if).

    A segmented flux DAC keeps its unary share, as :func:`cryoctl.profile.bits_overrides` does for the XY
    DAC: unary_msbs' = clip(round(U * N / N0), 1, N)."""
    flux = getattr(profile, "flux", None)
    if flux is None:
        raise CryoctlError("the profile has no flux section (flux DAC, tunable qubits)", field="flux")
    out = [f"flux.dac.bits={int(bits)}"]
    dac = flux.dac
    if dac.architecture == "segmented":
        out.append(f"flux.dac.unary_msbs={min(int(bits), max(1, round(dac.unary_msbs * int(bits) / dac.bits)))}")
    return out


@dataclass(frozen=True)
class CzPoint:
    """The calibrated and realized CZ of one pair (:func:`realize_cz_point`).

    ``metrics`` are those of the gate as played (flux-DAC noise/jitter averaged over ``noise_draws``,
    T1/T2 when the profile has them, virtual-Z fitted on the average); ``calibration`` holds the
    noiseless closed-system point the lab scan chose (``calibration.infidelity`` is that coherent 1 - F)."""

    qubits: tuple[int, int]
    fluxed_qubit: int
    calibration: CzCalibration
    metrics: CzMetrics
    open_system: bool
    noise_draws: int
    mhz_per_code: float  # |df/dcode| of the fluxed qubit at the calibrated amplitude (ideal DAC)
    flux_bits: int

    def summary(self) -> dict:
        """Plain numbers (JSON-ready) of the point."""
        cal, m = self.calibration, self.metrics
        return {
            "qubits": list(self.qubits),
            "fluxed_qubit": self.fluxed_qubit,
            "flux_bits": self.flux_bits,
            "amplitude_code": cal.amplitude_code,
            "n_samples": cal.n_samples,
            "gate_time_ns": cal.gate_time_ns,
            "cond_phase_error_rad": float(m.phase_error),
            "leakage": float(m.leakage),
            "infidelity": float(1.0 - m.fidelity),
            "coherent_infidelity": cal.infidelity,
            "coherent_cond_phase_error_rad": cal.phase_error,
            "coherent_leakage": cal.leakage,
            "mhz_per_code": self.mhz_per_code,
            "open_system": self.open_system,
            "noise_draws": self.noise_draws,
            "engine_calls": cal.engine_calls,
            "pulses_simulated": cal.pulses_simulated,
        }


def realize_cz_point(
    profile, pair: tuple[int, int] | None = None, engine="fast", noise_draws: int = 8, seed: int = 0, **calibrate
) -> CzPoint:
    """Calibrate the CZ of ``pair`` through the flux DAC (:func:`calibrate_cz`, noiseless, closed system, as a
    lab scan averages its shots) and realize it as played.

    The played gate is the average channel over ``noise_draws`` draws of the flux DAC's white noise and
    jitter (one draw = one shot; drawn from ``numpy.random.default_rng([seed, a, b])``), with the T1/T2
    Lindblad channel when the profile has any:

        S = (1/K) sum_k S_k,   S_k = kron(U_k, U_k*) (closed) or the Lindblad channel of draw k (open),

    then :func:`channel_cz_metrics` (virtual-Z fitted on S, as a lab fits it on averaged data). Without
    noise/jitter in the flux DAC, or with ``noise_draws = 0``, the single noiseless gate is realized."""
    if int(noise_draws) < 0:
        raise CryoctlError(f"expected noise_draws >= 0, got {noise_draws}", field="noise_draws")
    p = CzPair.from_profile(profile, pair)
    cal = calibrate_cz(p, engine=engine, **calibrate)
    open_system = p.model.is_open
    dac = p.drive.spec.dac
    draws = int(noise_draws) if (dac.noise_v_per_sqrt_hz > 0 or dac.jitter_rms_ps > 0) else 0
    if draws:
        rng = np.random.default_rng([int(seed), *p.qubits])
        codes = np.broadcast_to(cal.codes, (draws, cal.codes.size))
        op = p.realize(codes, engine, open_system=open_system, rng=rng)
        s = op.mean(axis=0) if open_system else kron_conj(op).mean(axis=0)
        metrics = channel_cz_metrics(s, p.levels, p.phase_bits)
    else:
        metrics = p.metrics(p.realize(cal.codes, engine, open_system=open_system), open_system)
    return CzPoint(
        qubits=p.qubits,
        fluxed_qubit=p.qubits[p.fluxed],
        calibration=cal,
        metrics=metrics,
        open_system=open_system,
        noise_draws=draws,
        mhz_per_code=p.mhz_per_code(cal.amplitude_code),
        flux_bits=dac.bits,
    )


def cz_chevron(pair: CzPair, calibration: CzCalibration, window_mhz: float = 60.0, points: int = 20,
               n_durations: int = 24, engine="fast") -> CzScanStage:
    """A chevron around a calibrated CZ: conditional phase and leakage vs amplitude code and pulse duration.

    Amplitude codes calibration.amplitude_code + k * stride (|k| <= ``points``, stride so that the scan spans
    +-``window_mhz`` of detuning of the fluxed qubit); durations n_cal + j * step from the shortest valid pulse
    (2 rise + 1 samples) to twice the calibrated one n_cal (about ``n_durations`` values, n_cal among them;
    an even step for net-zero pulses, whose odd lengths idle one sample at the sweet spot mid-pulse and so
    add ~2 pi (f_idle - f_int) dt to the |20> phase: another gate family); all in one slot (longest +
    buffer), one batched engine call. Rows of the result are durations, columns amplitude codes."""
    dac = pair.drive.dac
    points = max(1, int(points))
    stride = max(1, int(round(window_mhz / max(pair.mhz_per_code(calibration.amplitude_code), 1e-12) / points)))
    amps = np.clip(calibration.amplitude_code + stride * np.arange(-points, points + 1), 1, dac.code_max)
    lo, n_cal = 2 * pair.rise_samples + 1, calibration.n_samples
    step = max(1, int(round((2 * n_cal - lo) / max(1, int(n_durations) - 1))))
    if pair.shape == "net_zero" and step % 2:
        step += 1
    durations = n_cal + step * np.arange(-((n_cal - lo) // step), n_cal // step + 1)
    grid = np.broadcast_to(amps[None, :], (len(durations), len(amps)))
    slot = int(durations.max()) + pair.buffer_samples
    m = pair.metrics(pair.realize(pair.codes(grid, durations[:, None], slot), engine))
    return CzScanStage(durations, np.array(grid), m, m.cost())
