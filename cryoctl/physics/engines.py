"""Physics engines: one interface, four implementations, one registry (:func:`get_engine`).

Every engine takes a :class:`~cryoctl.physics.model.SystemModel` and the channel signals:

- ``propagate(model, signals, dt_ns) -> U (..., D, D)``: the closed-system propagator (collapse
  operators ignored);
- ``channel(model, signals, dt_ns) -> S (..., D^2, D^2)``: the Lindblad channel with the model's
  collapse operators, numpy ROW-MAJOR vectorisation (vec(rho) = rho.reshape(-1); a unitary U gives
  kron(U, U*), :func:`cryoctl.conventions.kron_conj`).

``signals`` maps channel names of the model to samples (..., K) in rad/ns, held constant over each
sample period ``dt_ns`` (zero-order hold, sample k on [k dt, (k+1) dt)); channels not given are zero;
the arrays broadcast together, and leading axes are batch axes (e.g. one row per DAC code). A
one-sample signal (K = 1) gives single-sample steps.

Engines
-------
``fast``     numpy, batched over everything: per-sample eigendecompositions / Taylor exponentials and
             a tree-reduced time-ordered product. Exact for ZOH up to rounding. The default.
``qutip``    QuTiP 5 ODE integration per waveform (reference; ~1e-9 from exact, see qutip_engine).
``dynamics`` qiskit-dynamics ``Solver`` with ``scipy_expm``, ``max_dt = dt`` (second exact reference;
             optional extra ``cryoctl[dynamics]``).
``jax``      the fast engine's mathematics in JAX, float64, CPU or GPU: batched eigh / expm and an
             associative-scan time-ordered product (:mod:`cryoctl.physics.jax_engine`; optional extra
             ``cryoctl[jax]``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cryoctl.conventions import ENGINE_NAMES, kron_conj
from cryoctl.errors import CryoctlError
from cryoctl.physics.fast import propagate as _fast_propagate
from cryoctl.physics.lindblad import channel_fast
from cryoctl.physics.model import SystemModel


def validate_signals(model, signals, dt_ns) -> dict[str, np.ndarray]:
    """Check (model, signals, dt) for every engine; return float arrays (raises CryoctlError)."""
    if not isinstance(model, SystemModel):
        raise CryoctlError(f"expected a SystemModel, got {type(model).__name__}", field="model")
    if not isinstance(signals, Mapping) or not signals:
        raise CryoctlError(f"expected a dict of channel signals {list(model.channels)}", field="signals")
    out = {}
    for name, values in signals.items():
        if name not in model.drives:
            raise CryoctlError(f"unknown channel {name!r}; the model has {list(model.channels)}", field="signals")
        if np.iscomplexobj(values):
            raise CryoctlError("expected real samples in rad/ns (I and Q are separate channels)", field=f"signals.{name}")
        try:
            v = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise CryoctlError("expected an array of samples in rad/ns", field=f"signals.{name}") from exc
        if v.ndim < 1 or v.shape[-1] < 1:
            raise CryoctlError(f"expected shape (..., K) with K >= 1 samples, got {v.shape}", field=f"signals.{name}")
        if not np.all(np.isfinite(v)):
            raise CryoctlError("signal samples must be finite", field=f"signals.{name}")
        out[name] = v
    try:
        np.broadcast_shapes(*(v.shape for v in out.values()))
    except ValueError as exc:
        raise CryoctlError(f"signal shapes do not broadcast: {[v.shape for v in out.values()]}", field="signals") from exc
    if (isinstance(dt_ns, (bool, str, bytes)) or not (np.isscalar(dt_ns) or np.ndim(dt_ns) == 0)
            or not np.isfinite(dt_ns) or float(dt_ns) <= 0):
        raise CryoctlError(f"expected a positive sample period in ns, got {dt_ns!r}", field="dt_ns")
    return out


class Engine:
    """Interface of a physics engine; subclasses implement ``_propagate`` and ``_channel``."""

    name = "engine"

    def propagate(self, model: SystemModel, signals: Mapping[str, np.ndarray], dt_ns: float) -> np.ndarray:
        """Propagator U (..., D, D) of the ZOH signals on the closed model (module docstring)."""
        checked = validate_signals(model, signals, dt_ns)
        return self._propagate(model.closed(), checked, float(dt_ns))

    def channel(self, model: SystemModel, signals: Mapping[str, np.ndarray], dt_ns: float) -> np.ndarray:
        """Superoperator S (..., D^2, D^2), row-major, with the model's Lindblad dissipators."""
        return self._channel(model, validate_signals(model, signals, dt_ns), float(dt_ns))

    def _propagate(self, model, signals, dt_ns):
        raise NotImplementedError

    def _channel(self, model, signals, dt_ns):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FastEngine(Engine):
    """numpy engine: :func:`cryoctl.physics.fast.propagate` and :func:`cryoctl.physics.lindblad.channel_fast`."""

    name = "fast"

    def _propagate(self, model, signals, dt_ns):
        return _fast_propagate(model, signals, dt_ns)

    def _channel(self, model, signals, dt_ns):
        return channel_fast(model, signals, dt_ns)


class QutipEngine(Engine):
    """QuTiP 5 reference (:mod:`cryoctl.physics.qutip_engine`); options: atol, rtol, method, nsteps."""

    name = "qutip"

    def __init__(self, **options):
        from cryoctl.physics.qutip_engine import QutipSolver

        self._impl = QutipSolver(**options)

    def _propagate(self, model, signals, dt_ns):
        return self._impl.propagate(model, signals, dt_ns)

    def _channel(self, model, signals, dt_ns):
        return self._impl.channel(model, signals, dt_ns)


class DynamicsEngine(Engine):
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
        from cryoctl.physics.dynamics_engine import DynamicsSolver

        self._impl = DynamicsSolver(**options)

    def _propagate(self, model, signals, dt_ns):
        return self._impl.solve(model, signals, dt_ns)

    def _channel(self, model, signals, dt_ns):
        if not model.is_open:
            return kron_conj(self._impl.solve(model, signals, dt_ns))
        return self._impl.solve(model, signals, dt_ns)


class JaxEngine(Engine):
    """JAX engine (:mod:`cryoctl.physics.jax_engine`), imported on first use: JAX is an optional extra."""

    name = "jax"

    def __init__(self):
        try:
            import jax  # noqa: F401
        except ImportError as exc:
            raise CryoctlError(
                "engine 'jax' needs JAX, which is not installed: pip install cryoctl[jax]", field="engine",
            ) from exc
        from cryoctl.physics import jax_engine

        self._impl = jax_engine

    def _propagate(self, model, signals, dt_ns):
        return self._impl.propagate(model, signals, dt_ns)

    def _channel(self, model, signals, dt_ns):
        return self._impl.channel(model, signals, dt_ns)


ENGINES: dict[str, type[Engine]] = {"fast": FastEngine, "qutip": QutipEngine, "dynamics": DynamicsEngine,
                                    "jax": JaxEngine}
assert tuple(ENGINES) == ENGINE_NAMES


def get_engine(name: str, **options) -> Engine:
    """The engine called ``name`` (one of :data:`cryoctl.conventions.ENGINE_NAMES`); options go to its constructor.

    An engine instance (an :class:`Engine`, or any object with ``propagate`` and ``channel`` methods, e.g.
    an instrumented one) is returned as is, so callers may pass either.
    """
    if isinstance(name, Engine) or (callable(getattr(name, "propagate", None)) and callable(getattr(name, "channel", None))):
        return name
    cls = ENGINES.get(str(name).strip().lower()) if isinstance(name, str) else None
    if cls is None:
        raise CryoctlError(f"unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}", field="engine")
    try:
        return cls(**options)
    except TypeError as exc:
        raise CryoctlError(f"bad options for engine {name!r}: {exc}", field="engine") from exc
