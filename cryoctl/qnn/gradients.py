"""Loss and gradient of a QNN on a mini-batch, by the adjoint method or parameter shift.

``method``:
  - ``adjoint``: one forward + one backward sweep (:meth:`cryoctl.circuit.Executor.vjp`) with the loss
    cotangent dL/d<Z_q> as the observable weights, computed from the forward's own <Z>. Pure states
    with exact rotations (ExactProvider, or IdealQuantizer at its grid angles): the analytic gradient
    (``executor.can_adjoint``). Density matrices (channel tables, CZ error, leakage; hardware
    executors) with exact expectations: the Liouville-space adjoint, which gives the numbers of the
    code-grid shift rule (generalised shift, or the code difference on coarse channels) per gate from
    one sweep each way instead of 2 m + 1 density-matrix runs (``executor.can_density_adjoint``).
  - ``shift``: (generalised) parameter shift on the code grid, 2 m + 1 parameter sets in one batched
    run; works on every executor (GateTable hardware, channels, CZ error) and with finite shots,
    where each shifted circuit is measured with its own shots. The reference path of ``adjoint``.
  - ``auto``: an adjoint when one applies, shift otherwise (finite shots).
Chain rule: dL/dtheta_k = sum_{b,q} dL/d<Z_q>(b) * d<Z_q>(b)/dtheta_k, in rad^-1 (a quantized
trainer divides by the parameter's code step to get a move in codes).
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError

METHODS = ("auto", "adjoint", "shift")


def loss_and_grad(model, executor, x, y, params, *, method: str = "auto", rng: np.random.Generator | None = None):
    """(loss, grad (n_params,), <Z> (B, n)) at one parameter set ``params`` (codes or angles, as the
    executor's provider plays them)."""
    if method not in METHODS:
        raise CryoctlError(f"unknown gradient method {method!r}; expected one of {', '.join(METHODS)}",
                           field="gradient")
    if method == "auto":
        method = "adjoint" if executor.can_adjoint or executor.can_density_adjoint else "shift"
    circuit = model.circuit
    if method == "adjoint":
        seen = {}

        def cotangent(e):  # dL/d<Z> at the forward sweep's own <Z>: one forward per gradient
            seen["loss"], dz = model.loss_and_dz(e[0], y)
            return dz[None]

        z, g = executor.vjp(circuit, x, params, cotangent)
        return float(seen["loss"]), g[0], z[0]
    z, jac = executor.shift_jacobian(circuit, x, params, rng)
    loss, dz = model.loss_and_dz(z, y)
    return float(loss), np.einsum("mbn,bn->m", jac, dz), z


def finite_difference(model, executor, x, y, angles, eps: float = 1e-5) -> np.ndarray:
    """Central finite difference of the loss on float angles, all 2 m sets in one batched run."""
    if executor.quantized:
        raise CryoctlError("finite differences need float angles (an exact provider)", field="provider")
    angles = np.asarray(angles, dtype=float)
    m = angles.size
    sets = np.repeat(angles[None], 2 * m, axis=0)
    sets[np.arange(m), np.arange(m)] += eps
    sets[m + np.arange(m), np.arange(m)] -= eps
    z = executor.expect(model.circuit, x, sets)
    loss = np.array([model.loss_and_dz(zi, y)[0] for zi in z])  # 2 m scalars, not a hot path
    return (loss[:m] - loss[m:]) / (2 * eps)
