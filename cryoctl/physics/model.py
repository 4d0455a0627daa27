"""The system a pulse acts on: one object holding the static Hamiltonian, one drive operator per control
channel and the collapse operators (qiskit-dynamics' model/signal split).

    H(t) = H_static + sum_c s_c(t) O_c            [rad/ns]
    d rho/dt = -i [H(t), rho] + sum_j ( L_j rho L_j' - 1/2 {L_j' L_j, rho} )

``s_c`` are the channel signals handed to an engine with the model (a dict channel -> samples, held
constant over each sample period: zero-order hold). Built once (from a profile, or for tests directly)
and shared by every engine, so that no engine takes loose numbers.

Single transmon (drive frame, DESIGN.md 'Transmon'), d levels, n = a'a:

    H_static = delta n + (alpha/2) n (n - 1),   O_xy_i = X_d / 2 = (a + a')/2,   O_xy_q = Y_d / 2 = i (a' - a)/2,

so the signals are the Rabi rates Omega_I, Omega_Q in rad/ns. Collapse operators: sqrt(1/T1) a and
sqrt(2/T_phi) n (:func:`cryoctl.physics.lindblad.collapse_operators`).

Two coupled transmons (DESIGN.md 'Flux line and two-qubit gates'), frame rotating at a common frequency
w_ref (exchange conserves excitations, so it is a symmetry of the coupling):

    H_static = sum_q [ delta_q n_q + (alpha_q/2) n_q (n_q - 1) ] + J (b_0' b_1 + b_0 b_1'),
    O_flux_q = n_q (signal: the flux-induced frequency shift w_q(t) - w_q(idle), rad/ns),
    O_xy_i_q = X_q / 2,  O_xy_q_q = Y_q / 2,

with delta_q = w_q(idle) - w_ref. Qubit 0 is the left (most significant) tensor factor.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.physics.hamiltonian import TWO_PI, drift, drive_operators, lowering
from cryoctl.physics.lindblad import collapse_operators


@dataclass(frozen=True, eq=False)
class SystemModel:
    """Static Hamiltonian, drive operators per channel and collapse operators (module docstring)."""

    dims: tuple[int, ...]
    static: np.ndarray
    drives: dict[str, np.ndarray]
    collapse: tuple[np.ndarray, ...] = field(default=())

    def __post_init__(self):
        dim = int(np.prod(self.dims))
        for name, op in [("static", self.static), *self.drives.items(), *(("collapse", c) for c in self.collapse)]:
            if np.shape(op) != (dim, dim):
                raise CryoctlError(f"expected a ({dim}, {dim}) operator, got shape {np.shape(op)}", field=name)
        for name, op in [("static", self.static), *self.drives.items()]:
            if not np.allclose(op, np.conj(op).T, atol=1e-12):
                raise CryoctlError("expected a Hermitian operator", field=name)

    @property
    def dim(self) -> int:
        return int(np.prod(self.dims))

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.drives)

    @property
    def is_open(self) -> bool:
        return len(self.collapse) > 0

    def closed(self) -> "SystemModel":
        """The same model without dissipation."""
        return replace(self, collapse=())

    @cached_property
    def iq_transmon(self) -> bool:
        """True for a single transmon with the standard I/Q drive pair and a diagonal real drift: the
        fast engine then rotates every I/Q sample onto the I axis (a diagonal frame change) and only
        diagonalises real-symmetric matrices."""
        if len(self.dims) != 1 or set(self.drives) != {"xy_i", "xy_q"}:
            return False
        x, y = drive_operators(self.dims[0])
        s = self.static
        return (
            np.array_equal(self.drives["xy_i"], 0.5 * x)
            and np.array_equal(self.drives["xy_q"], 0.5 * y)
            and np.array_equal(s, np.diag(np.diag(s)))
            and not np.iscomplexobj(s)
        )

    @classmethod
    def transmon(
        cls,
        levels: int,
        anharmonicity_ghz: float,
        detuning_ghz: float = 0.0,
        t1_us: float | None = None,
        t2_us: float | None = None,
    ) -> "SystemModel":
        """One d-level transmon in the drive frame with channels ``xy_i``, ``xy_q`` (module docstring)."""
        levels = _check_levels(levels)
        _check_coherence(t1_us, t2_us)
        x, y = drive_operators(levels)
        return cls(
            dims=(levels,),
            static=drift(levels, float(anharmonicity_ghz), float(detuning_ghz)),
            drives={"xy_i": 0.5 * x, "xy_q": 0.5 * y},
            collapse=tuple(collapse_operators(levels, t1_us, t2_us)),
        )

    @classmethod
    def from_profile(cls, profile, qubit: int = 0) -> "SystemModel":
        """Qubit ``qubit`` of a profile (its resolved ``profile.transmon(qubit)`` parameters)."""
        t = profile.transmon(qubit)
        return cls.transmon(t.levels, t.anharmonicity_ghz, t.detuning_ghz, t.t1_us, t.t2_us)

    @classmethod
    def coupled_transmons(
        cls,
        levels: int,
        detunings_ghz: tuple[float, float],
        anharmonicities_ghz: tuple[float, float],
        coupling_ghz: float,
        t1_us: tuple[float | None, float | None] = (None, None),
        t2_us: tuple[float | None, float | None] = (None, None),
    ) -> "SystemModel":
        """Two d-level transmons with exchange coupling J = 2 pi coupling_ghz (module docstring).

        Channels: ``flux0``, ``flux1`` (frequency shift of each qubit, rad/ns), ``xy_i0``, ``xy_q0``,
        ``xy_i1``, ``xy_q1`` (Rabi rates). Collapse operators are each qubit's, embedded in the pair.
        """
        d = _check_levels(levels)
        for name, pair in (("detunings_ghz", detunings_ghz), ("anharmonicities_ghz", anharmonicities_ghz),
                           ("t1_us", t1_us), ("t2_us", t2_us)):
            if len(pair) != 2:
                raise CryoctlError(f"expected one value per qubit (2), got {pair!r}", field=name)
        eye = np.eye(d)
        a = lowering(d)
        n = np.diag(np.arange(d, dtype=float))
        x, y = drive_operators(d)
        emb = (lambda op: np.kron(op, eye), lambda op: np.kron(eye, op))
        static = sum(emb[q](drift(d, float(anharmonicities_ghz[q]), float(detunings_ghz[q]))) for q in range(2))
        b0, b1 = emb[0](a), emb[1](a)
        static = static + TWO_PI * float(coupling_ghz) * (b0.T @ b1 + b0 @ b1.T)
        drives = {}
        for q in range(2):
            drives[f"flux{q}"] = emb[q](n)
            drives[f"xy_i{q}"] = emb[q](0.5 * x)
            drives[f"xy_q{q}"] = emb[q](0.5 * y)
        collapse = []
        for q in range(2):
            _check_coherence(t1_us[q], t2_us[q])
            collapse += [emb[q](c) for c in collapse_operators(d, t1_us[q], t2_us[q])]
        return cls(dims=(d, d), static=static, drives=drives, collapse=tuple(collapse))


def _check_levels(levels) -> int:
    """An integer number of levels >= 2 (raises CryoctlError)."""
    ok = isinstance(levels, (int, np.integer)) and not isinstance(levels, bool) and levels >= 2
    if not ok and isinstance(levels, float) and levels.is_integer() and levels >= 2:
        ok = True
    if not ok:
        raise CryoctlError(f"expected an integer number of transmon levels >= 2, got {levels!r}", field="levels")
    return int(levels)


def _check_coherence(t1_us, t2_us) -> None:
    """T1, T2 > 0 in us and T2 <= 2 T1 (raises CryoctlError)."""
    for name, value in (("t1_us", t1_us), ("t2_us", t2_us)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise CryoctlError(f"expected a positive time in us or None, got {value!r}", field=name)
    if t1_us is not None and t2_us is not None and t2_us > 2 * t1_us:
        raise CryoctlError(f"T2 <= 2 T1 is required, got t2_us={t2_us} > 2 * t1_us={2 * t1_us}", field="t2_us")
