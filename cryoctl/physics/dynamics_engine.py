"""The `dynamics` engine: qiskit-dynamics as an independent second implementation.

The model is handed to ``qiskit_dynamics.Solver`` in its own terms:

    static_hamiltonian    = model.static
    hamiltonian_operators = [model.drives[c] for each channel c]
    signals               = [DiscreteSignal(dt, s_c) for each channel c], carrier 0
    static_dissipators    = model.collapse (channels only; vectorized model)
    rotating_frame        = None (H is already in the drive frame)

A ``DiscreteSignal`` holds sample k on [k dt, (k+1) dt) (zero-order hold); with carrier 0 its value
is Re(sample) = the sample. Solving with ``method='scipy_expm'`` and ``max_dt = dt`` takes exactly
one first-order-Magnus step per sample, exp(-i H(t_k + dt/2) dt), and H is constant on the step, so
the result is the exact ZOH propagator (agreement with the fast engine is at rounding level).

Optional dependency (``pip install cryoctl[dynamics]``); imported lazily, the missing-package error
is raised by :func:`cryoctl.physics.engines.get_engine`. One solve per batch member (reference role).
"""

from __future__ import annotations

import numpy as np

from cryoctl.physics.lindblad import column_to_row_superop


class DynamicsSolver:
    """qiskit-dynamics Solver with a one-step-per-sample matrix-exponential method."""

    def __init__(self, method: str = "scipy_expm"):
        self.method = method

    def solve(self, model, signals, dt_ns):
        """U (closed model) or the row-major channel (open model), one solve per batch member."""
        from qiskit_dynamics import DiscreteSignal, Solver

        names = list(signals)
        arrays = np.broadcast_arrays(*(signals[c] for c in names))
        batch, k_samples = arrays[0].shape[:-1], arrays[0].shape[-1]
        open_system = model.is_open
        solver = Solver(
            static_hamiltonian=np.asarray(model.static, dtype=complex),
            hamiltonian_operators=[np.asarray(model.drives[c], dtype=complex) for c in names],
            static_dissipators=[np.asarray(c, dtype=complex) for c in model.collapse] if open_system else None,
            rotating_frame=None,
            array_library="numpy",
            vectorized=True if open_system else None,
        )
        n = model.dim**2 if open_system else model.dim
        y0 = np.eye(n, dtype=complex)
        t_final = k_samples * float(dt_ns)
        out = []
        for idx in np.ndindex(batch):
            sigs = [DiscreteSignal(dt=float(dt_ns), samples=a[idx], carrier_freq=0.0) for a in arrays]
            res = solver.solve(t_span=[0.0, t_final], y0=y0, signals=sigs, method=self.method, max_dt=float(dt_ns))
            out.append(np.asarray(res.y[-1]))
        result = np.stack(out).reshape(*batch, n, n)
        return column_to_row_superop(result) if open_system else result
