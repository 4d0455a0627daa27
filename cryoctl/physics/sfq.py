"""SFQ drive: a d-level transmon kicked by single-flux-quantum pulses, in the LAB frame (no RWA).

Model (DESIGN.md 'SFQ control'; McDermott & Vavilov, Phys. Rev. Applied 2, 014007 (2014)). The lab-frame
transmon H_0 = w_01 n + (alpha/2) n (n - 1) (rad/ns, n = b'b) is coupled through a small capacitor to a
voltage pulse V(t) of area Phi_0. The coupling is H_c(t) = s(t) O with O = i (b' - b) / 2 (the charge
quadrature; the model's ``sfq`` channel) and s(t) = dtheta g(t), g a unit-area pulse shape, so that a pulse
much shorter than 1 / w_01 is the kick

    U_k = exp(-i dtheta O) = exp[(dtheta / 2)(b' - b)],

a small rotation about y on the qubit block (exp[-i dtheta sigma_y / 2] exactly when d = 2). A bitstream
b_0 .. b_{L-1} (b_j = 1: a pulse at tick j, t_j = j T_clk) gives, tick by tick (kick first, then free
precession to the next tick),

    U = prod_{j = L-1 .. 0} U_free(T_clk) U_k^{b_j},     U_free(t) = exp(-i H_0 t)   (diagonal),

an exact propagator of the kicked lab-frame Hamiltonian (the kick-and-precess map). Timing jitter: the
pulse of tick j arrives at t_j + delta_j; U_free(T_clk - delta) U_k U_free(delta) = U_free(T_clk) U_k(delta)
with the conjugated kick

    U_k(delta)_{mn} = (U_k)_{mn} exp[i (E_m - E_n) delta]           (E = diag H_0),

so a jittered bitstream costs one elementwise phase per pulse (valid for |delta| < T_clk: pulses keep their
order). Everything is batched over leading axes (bitstreams, jitter draws) and the L tick operators are
multiplied by the tree reduction of :func:`cryoctl.physics.fast.time_ordered_product`.

Frame. Gates are compared in the frame of the qubit at the end of the bitstream, rotating at w_01
(``to_qubit_frame``): U_rot = exp(i w_01 n T) U_lab with T = L T_clk. A bitstream started at t_0 instead of 0
realizes exp(i w_01 n t_0) U_rot exp(-i w_01 n t_0) in that frame (H_0 is time independent), a virtual-Z
conjugation the controller tracks; it is the identity when t_0 is a whole number of qubit periods.

Second engine (:func:`qutip_gaussian_train`): QuTiP integrates i dU/dt = [H_0 + s(t) O] U with finite
Gaussian pulses s(t) = dtheta sum_j b_j N(t - t_j - delta_j; sigma) (FWHM = 2 sqrt(2 ln 2) sigma, area dtheta
each, the same tip angle). A finite pulse differs from the kick because H_0 acts during it: to first order its
effective tip angle on the n -> n+1 transition is dtheta exp[-(w_{n,n+1} sigma)^2 / 2] (the Fourier transform
of the Gaussian at the transition frequency), a relative change of 3.6e-4 at 5 GHz and FWHM 2 ps (sigma
0.85 ps); the gate fidelities of the two engines agree to ~3e-6 (tests/physics/test_sfq.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.physics.fast import time_ordered_product
from cryoctl.physics.hamiltonian import TWO_PI, drift, drive_operators
from cryoctl.physics.model import SystemModel

#: FWHM / sigma of a Gaussian
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def sfq_model(levels: int, qubit_ghz: float, anharmonicity_ghz: float) -> SystemModel:
    """Lab-frame d-level transmon with one ``sfq`` channel: H_0 = w_01 n + (alpha/2) n(n-1), O = i(b' - b)/2."""
    if not isinstance(levels, (int, np.integer)) or not 2 <= levels <= 8:
        raise CryoctlError(f"expected 2..8 levels, got {levels!r}", field="levels")
    if not np.isfinite(qubit_ghz) or qubit_ghz <= 0:
        raise CryoctlError(f"expected a positive qubit frequency in GHz, got {qubit_ghz!r}", field="qubit_ghz")
    _, y = drive_operators(int(levels))
    return SystemModel(dims=(int(levels),), static=drift(int(levels), float(anharmonicity_ghz), float(qubit_ghz)),
                       drives={"sfq": 0.5 * y})


@dataclass(frozen=True, eq=False)
class KickPrecess:
    """Exact kick-and-precess propagation of bitstreams on a lab-frame ``model`` (module docstring).

    ``model``: a single d-level system with a real diagonal static Hamiltonian (lab frame) and an ``sfq``
    drive operator; ``clock_period_ns``: T_clk; ``tip_angle``: dtheta (rad) of one pulse.
    """

    model: SystemModel
    clock_period_ns: float
    tip_angle: float

    def __post_init__(self):
        s = self.model.static
        if len(self.model.dims) != 1 or "sfq" not in self.model.drives or not np.array_equal(s, np.diag(np.diag(s))):
            raise CryoctlError("expected a single transmon with a diagonal lab-frame Hamiltonian and an 'sfq' "
                               "channel (physics.sfq.sfq_model)", field="model")
        if not np.isfinite(self.clock_period_ns) or self.clock_period_ns <= 0:
            raise CryoctlError(f"expected a positive clock period in ns, got {self.clock_period_ns!r}",
                               field="clock_period_ns")
        if not np.isfinite(self.tip_angle) or not 0 < abs(self.tip_angle) < 1:
            raise CryoctlError(f"expected a tip angle in (0, 1) rad, got {self.tip_angle!r}", field="tip_angle")

    @property
    def levels(self) -> int:
        return self.model.dims[0]

    @cached_property
    def energies(self) -> np.ndarray:
        """E_n = diag H_0 (rad/ns)."""
        return np.real(np.diag(self.model.static)).astype(float)

    @property
    def omega01(self) -> float:
        return float(self.energies[1] - self.energies[0])

    @cached_property
    def kick(self) -> np.ndarray:
        """U_k = exp(-i dtheta O) (d, d)."""
        w, v = np.linalg.eigh(self.model.drives["sfq"])
        return (v * np.exp(-1j * self.tip_angle * w)) @ v.conj().T

    def free(self, t_ns) -> np.ndarray:
        """exp(-i H_0 t) as (..., d, d) for t of any shape."""
        ph = np.exp(-1j * np.asarray(t_ns, dtype=float)[..., None] * self.energies)
        return ph[..., :, None] * np.eye(self.levels)

    def kick_at(self, delay_ns) -> np.ndarray:
        """U_k(delta) = exp(i H_0 delta) U_k exp(-i H_0 delta), (..., d, d) (module docstring)."""
        e = self.energies
        phase = np.exp(1j * np.asarray(delay_ns, dtype=float)[..., None, None] * (e[:, None] - e[None, :]))
        return self.kick * phase

    def tick_ops(self, bits, delays_ns=None) -> np.ndarray:
        """Per-tick operators U_free(T_clk) U_k(delta_j)^{b_j}: (..., L, d, d) for bits (..., L)."""
        bits = _check_bits(bits)
        f = self.free(self.clock_period_ns)
        if delays_ns is None:
            table = np.stack([f, f @ self.kick])  # no pulse / pulse
            return table[bits.astype(np.intp)]
        delays = np.asarray(delays_ns, dtype=float)
        if np.any(np.abs(delays) >= self.clock_period_ns):
            raise CryoctlError("timing delays must be shorter than one clock period", field="delays_ns")
        shape = np.broadcast_shapes(bits.shape, delays.shape)
        kicked = f @ self.kick_at(np.broadcast_to(delays, shape))
        return np.where(np.broadcast_to(bits, shape)[..., None, None], kicked, f)

    def propagate(self, bits, delays_ns=None) -> np.ndarray:
        """Lab-frame propagator of bitstreams (..., L) over L T_clk, (..., d, d); ``delays_ns``: jitter
        per tick (broadcast against ``bits``; entries of ticks without a pulse are ignored)."""
        return time_ordered_product(self.tick_ops(bits, delays_ns))

    def duration_ns(self, n_ticks: int) -> float:
        return n_ticks * self.clock_period_ns

    def to_qubit_frame(self, u_lab, n_ticks: int) -> np.ndarray:
        """exp(i w_01 n T) U_lab with T = n_ticks T_clk: the gate in the qubit frame at the end of the bitstream."""
        t = self.duration_ns(n_ticks)
        ph = np.exp(1j * self.omega01 * np.arange(self.levels) * t)
        return ph[:, None] * np.asarray(u_lab)

    def gate(self, bits, delays_ns=None) -> np.ndarray:
        """Qubit-frame gate of bitstreams (..., L): :meth:`to_qubit_frame` of :meth:`propagate`."""
        bits = _check_bits(bits)
        return self.to_qubit_frame(self.propagate(bits, delays_ns), bits.shape[-1])


def _check_bits(bits) -> np.ndarray:
    b = np.asarray(bits)
    if b.ndim < 1 or b.shape[-1] < 1:
        raise CryoctlError(f"expected bitstreams of shape (..., L) with L >= 1, got {b.shape}", field="bits")
    if b.dtype != bool:
        if not np.issubdtype(b.dtype, np.integer) or (b.size and (b.min() < 0 or b.max() > 1)):
            raise CryoctlError("expected bitstreams of 0/1 (or bool) per clock tick", field="bits")
        b = b.astype(bool)
    return b


def qutip_gaussian_train(kp: KickPrecess, bits, fwhm_ns: float, delays_ns=None, atol: float = 1e-10,
                         rtol: float = 1e-10) -> np.ndarray:
    """Second engine: QuTiP solve with finite Gaussian pulses (module docstring) -> qubit-frame gates (..., d, d).

    Pulse j (b_j = 1) is centred at j T_clk + delta_j with width ``fwhm_ns`` and area dtheta. The solve runs
    from -w to L T_clk (w = 8 sigma covers the first pulse; the last one ends before L T_clk) and is mapped
    back to the kick picture's start by exp(-i H_0 w)^-1, then into the qubit frame at L T_clk. One solve per
    bitstream (a reference, not a workhorse); ``max_step`` = sigma so that no pulse is stepped over.
    """
    import qutip as qt

    bits = _check_bits(bits)
    sigma = float(fwhm_ns) / FWHM_PER_SIGMA
    t_clk = kp.clock_period_ns
    if not 0 < 8 * sigma < t_clk / 2:
        raise CryoctlError(f"pulse FWHM {fwhm_ns} ns is not short against the clock period {t_clk} ns",
                           field="fwhm_ns")
    delays = np.zeros(bits.shape) if delays_ns is None else np.broadcast_to(np.asarray(delays_ns, float), bits.shape)
    n_ticks = bits.shape[-1]
    w = 8 * sigma
    norm = kp.tip_angle / (sigma * np.sqrt(TWO_PI))
    h0, op = qt.Qobj(kp.model.static), qt.Qobj(kp.model.drives["sfq"])
    opts = {"atol": atol, "rtol": rtol, "method": "vern9", "max_step": sigma, "nsteps": 10_000_000,
            "store_states": False, "store_final_state": True}
    back = np.diag(np.exp(1j * kp.energies * w))  # exp(-i H_0 w)^-1: undo the free evolution on [-w, 0]

    out = np.empty((*bits.shape[:-1], kp.levels, kp.levels), dtype=complex)
    for idx in np.ndindex(bits.shape[:-1]):
        on = bits[idx]
        centres = np.where(on, np.arange(n_ticks) * t_clk + delays[idx], np.nan)

        def s(t, centres=centres):
            k = min(max(int(round(t / t_clk)), 0), n_ticks - 1)
            c = centres[k]
            if c != c:  # NaN: no pulse at this tick
                return 0.0
            x = (t - c) / sigma
            return norm * np.exp(-0.5 * x * x) if abs(x) < 12 else 0.0

        h = qt.QobjEvo([h0, [op, s]])
        tlist = np.concatenate([[-w], np.arange(n_ticks) * t_clk + t_clk / 2, [n_ticks * t_clk]])
        tlist = np.unique(tlist[tlist >= -w])
        u = qt.sesolve(h, qt.qeye(kp.levels), tlist, options=opts).final_state.full()
        out[idx] = u @ back
    return kp.to_qubit_frame(out, n_ticks)
