"""The `dynamics` engine: qiskit-dynamics as an independent second implementation.

The model is handed to ``qiskit_dynamics.Solver`` in its own terms:

    static_hamiltonian    = H_0 = delta a'a + (alpha/2) a'a'aa
    hamiltonian_operators = [X_d / 2, Y_d / 2]           (X_d = a + a', Y_d = i(a' - a))
    signals               = [DiscreteSignal(dt, Omega_I), DiscreteSignal(dt, Omega_Q)], carrier 0
    static_dissipators    = collapse operators of lindblad.py (channels only; vectorized model)
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

from cryoctl.physics.hamiltonian import drift, drive_operators
from cryoctl.physics.lindblad import collapse_operators, column_to_row_superop


class DynamicsEngine:
    """qiskit-dynamics Solver with a one-step-per-sample matrix-exponential method."""

    name = "dynamics"

    def __init__(self, method: str = "scipy_expm"):
        self.method = method

    def _solve(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, c_ops):
        from qiskit_dynamics import DiscreteSignal, Solver

        omega_i = np.asarray(omega_i, dtype=float)
        omega_q = np.zeros_like(omega_i) if omega_q is None else np.asarray(omega_q, dtype=float)
        omega_i, omega_q = np.broadcast_arrays(omega_i, omega_q)
        batch, k_samples = omega_i.shape[:-1], omega_i.shape[-1]
        x, y = drive_operators(levels)
        solver = Solver(
            static_hamiltonian=drift(levels, anharmonicity_ghz, detuning_ghz).astype(complex),
            hamiltonian_operators=[0.5 * x.astype(complex), 0.5 * y],
            static_dissipators=c_ops if c_ops else None,
            rotating_frame=None,
            array_library="numpy",
            vectorized=True if c_ops else None,
        )
        n = levels * levels if c_ops else levels
        y0 = np.eye(n, dtype=complex)
        t_final = k_samples * float(dt_ns)
        out = []
        for idx in np.ndindex(batch):
            signals = [
                DiscreteSignal(dt=float(dt_ns), samples=omega_i[idx], carrier_freq=0.0),
                DiscreteSignal(dt=float(dt_ns), samples=omega_q[idx], carrier_freq=0.0),
            ]
            res = solver.solve(
                t_span=[0.0, t_final], y0=y0, signals=signals, method=self.method, max_dt=float(dt_ns)
            )
            out.append(np.asarray(res.y[-1]))
        result = np.stack(out).reshape(*batch, n, n)
        return column_to_row_superop(result) if c_ops else result

    def propagate(self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz=0.0):
        return self._solve(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, [])

    def channel(
        self, omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz=0.0, t1_us=None, t2_us=None
    ):
        c_ops = [c.astype(complex) for c in collapse_operators(levels, t1_us, t2_us)]
        if not c_ops:
            u = self.propagate(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz)
            return (u[..., :, None, :, None] * u.conj()[..., None, :, None, :]).reshape(
                *u.shape[:-2], levels * levels, levels * levels
            )
        return self._solve(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz, c_ops)
