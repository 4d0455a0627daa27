"""Physics engines: one interface, three implementations of the same driven-transmon model.

    H(t) = delta a'a + (alpha/2) a'a'aa + (Omega_I(t)/2)(a + a') + (Omega_Q(t)/2) i(a' - a)   [rad/ns]

with a zero-order-hold drive (sample k of Omega_I, Omega_Q holds on [k dt, (k+1) dt)) and, for
channels, the Lindblad dissipators of :mod:`cryoctl.physics.lindblad` (T1 relaxation, pure
dephasing such that the 0-1 coherence decays with ``t2_us``).

Every engine offers

- ``propagate(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz=0.0) -> U (..., d, d)``
- ``channel(..., t1_us=None, t2_us=None) -> S (..., d^2, d^2)``, numpy ROW-MAJOR vectorisation:
  vec(rho) = rho.reshape(-1), rho' = (S @ vec(rho)).reshape(d, d); a unitary U gives kron(U, U*).

``omega_i`` has shape (..., K) (K samples, leading batch axes, e.g. one row per DAC code); ``omega_q``
is None (I only) or broadcastable to it.

Engines
-------
``fast``     numpy, batched over everything: per-sample eigendecompositions / Taylor exponentials and
             a tree-reduced time-ordered product. Exact for ZOH up to rounding. The default.
``qutip``    QuTiP 5 ODE integration per waveform (reference; ~1e-9 from exact, see qutip_engine).
``dynamics`` qiskit-dynamics ``Solver`` with ``scipy_expm``, ``max_dt = dt`` (second exact reference;
             optional extra ``cryoctl[dynamics]``).
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.physics.fast import propagate as _fast_propagate
from cryoctl.physics.lindblad import channel_fast

ENGINE_NAMES = ("fast", "qutip", "dynamics")


def validate_drive(omega_i, omega_q, dt_ns, levels) -> tuple[np.ndarray, np.ndarray | None]:
    """Check the arguments shared by every engine; return float arrays (raises CryoctlError)."""
    try:
        wi = np.asarray(omega_i, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CryoctlError("expected an array of drive samples in rad/ns", field="omega_i") from exc
    if wi.ndim < 1 or wi.shape[-1] < 1:
        raise CryoctlError(f"expected shape (..., K) with K >= 1 samples, got {wi.shape}", field="omega_i")
    if not np.all(np.isfinite(wi)):
        raise CryoctlError("drive samples must be finite", field="omega_i")
    wq = None
    if omega_q is not None:
        try:
            wq = np.asarray(omega_q, dtype=float)
            np.broadcast_shapes(wi.shape, wq.shape)
        except (TypeError, ValueError) as exc:
            raise CryoctlError(f"expected samples broadcastable to omega_i {wi.shape}", field="omega_q") from exc
        if not np.all(np.isfinite(wq)):
            raise CryoctlError("drive samples must be finite", field="omega_q")
    if not (np.isscalar(dt_ns) or np.ndim(dt_ns) == 0) or not np.isfinite(dt_ns) or float(dt_ns) <= 0:
        raise CryoctlError(f"expected a positive sample period in ns, got {dt_ns!r}", field="dt_ns")
    if int(levels) != levels or levels < 2:
        raise CryoctlError(f"expected an integer number of transmon levels >= 2, got {levels!r}", field="levels")
    return wi, wq


def validate_coherence(t1_us, t2_us) -> None:
    """T1, T2 > 0 in us and T2 <= 2 T1 (raises CryoctlError)."""
    for name, value in (("t1_us", t1_us), ("t2_us", t2_us)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise CryoctlError(f"expected a positive time in us or None, got {value!r}", field=name)
    if t1_us is not None and t2_us is not None and t2_us > 2 * t1_us:
        raise CryoctlError(f"T2 <= 2 T1 is required, got t2_us={t2_us} > 2 * t1_us={2 * t1_us}", field="t2_us")


class Engine:
    """Interface of a physics engine; subclasses implement ``_propagate`` and ``_channel``."""

    name = "engine"

    def propagate(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz=0.0) -> np.ndarray:
        """Propagator U (..., d, d) of the ZOH drive (module docstring)."""
        wi, wq = validate_drive(omega_i, omega_q, dt_ns, levels)
        return self._propagate(wi, wq, float(dt_ns), int(levels), float(anharmonicity_ghz), float(detuning_ghz))

    def channel(
        self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz=0.0, t1_us=None, t2_us=None
    ) -> np.ndarray:
        """Superoperator S (..., d^2, d^2), row-major vectorisation, with T1/T2 Lindblad dissipators."""
        wi, wq = validate_drive(omega_i, omega_q, dt_ns, levels)
        validate_coherence(t1_us, t2_us)
        return self._channel(
            wi, wq, float(dt_ns), int(levels), float(anharmonicity_ghz), float(detuning_ghz), t1_us, t2_us
        )

    def _propagate(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz):
        raise NotImplementedError

    def _channel(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, t1_us, t2_us):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FastEngine(Engine):
    """numpy engine: :func:`cryoctl.physics.fast.propagate` and :func:`lindblad.channel_fast`."""

    name = "fast"

    def _propagate(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz):
        return _fast_propagate(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz)

    def _channel(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, t1_us, t2_us):
        return channel_fast(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, t1_us, t2_us)


class _Delegating(Engine):
    """Engine wrapping a reference implementation object with propagate/channel methods."""

    def __init__(self, impl):
        self._impl = impl

    def _propagate(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz):
        return self._impl.propagate(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz)

    def _channel(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, t1_us, t2_us):
        return self._impl.channel(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, t1_us, t2_us)


class QutipEngine(_Delegating):
    """QuTiP 5 reference (:mod:`cryoctl.physics.qutip_engine`); options: atol, rtol, method, nsteps."""

    name = "qutip"

    def __init__(self, **options):
        from cryoctl.physics.qutip_engine import QutipEngine as _Impl

        super().__init__(_Impl(**options))


class DynamicsEngine(_Delegating):
    """qiskit-dynamics reference (:mod:`cryoctl.physics.dynamics_engine`); option: method."""

    name = "dynamics"

    def __init__(self, **options):
        try:
            import qiskit_dynamics  # noqa: F401
        except ImportError as exc:
            raise CryoctlError(
                "engine 'dynamics' needs qiskit-dynamics, which is not installed: pip install cryoctl[dynamics]",
                field="engine",
            ) from exc
        from cryoctl.physics.dynamics_engine import DynamicsEngine as _Impl

        super().__init__(_Impl(**options))


_ENGINES = {"fast": FastEngine, "qutip": QutipEngine, "dynamics": DynamicsEngine}


def get_engine(name: str, **options) -> Engine:
    """The engine called ``name`` ('fast' | 'qutip' | 'dynamics'); options go to its constructor."""
    cls = _ENGINES.get(str(name).strip().lower()) if isinstance(name, str) else None
    if cls is None:
        raise CryoctlError(f"unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}", field="engine")
    try:
        return cls(**options)
    except TypeError as exc:
        raise CryoctlError(f"bad options for engine {name!r}: {exc}", field="engine") from exc
