"""Loss and gradient of a QNN on a mini-batch, by the adjoint method or parameter shift.

``method``:
  - ``adjoint``: exact analytic gradient (cryoctl.circuit.execute.adjoint_vjp) with the loss
    cotangent dL/d<Z_q> as the observable weights: one forward + one backward sweep. Needs exact
    rotations (ExactProvider, or IdealQuantizer evaluated at its grid angles, where it equals the
    code-grid parameter shift exactly) and exact expectations.
  - ``shift``: (generalised) parameter-shift on the code grid, 2 m + 1 parameter sets in one batched
    run; works on every provider (GateTable hardware, channels, CZ error) and with finite shots,
    where each shifted circuit is measured with its own shots.
  - ``auto``: adjoint when possible, shift otherwise.
Chain rule: dL/dtheta_k = sum_{b,q} dL/d<Z_q>(b) * d<Z_q>(b)/dtheta_k.
"""

from __future__ import annotations

import numpy as np

from cryoctl.circuit.execute import adjoint_vjp, expect, shift_jacobian
from cryoctl.circuit.readout import Readout
from cryoctl.errors import CryoctlError


def can_adjoint(provider, readout: Readout | None, cz_error: float) -> bool:
    return (getattr(provider, "supports_adjoint", False) and provider.kind == "unitary"
            and (readout is None or readout.shots is None) and cz_error == 0.0)


def loss_and_grad(model, provider, x, y, angles, *, method: str = "auto", readout: Readout | None = None,
                  cz_error: float = 0.0, rng: np.random.Generator | None = None):
    """(loss, grad (n_params,), <Z> (B, n)) at parameter angles ``angles`` (n_params,)."""
    if method == "auto":
        method = "adjoint" if can_adjoint(provider, readout, cz_error) else "shift"
    circuit = model.circuit
    if method == "adjoint":
        if not can_adjoint(provider, readout, cz_error):
            raise CryoctlError("adjoint gradient needs exact rotations, no shots and no CZ error", field="gradient")
        z = expect(circuit, provider, x, angles, readout=readout)[0]
        loss, dz = model.loss_and_dz(z, y)
        _, g = adjoint_vjp(circuit, provider, x, angles, dz[None], readout=readout)
        return float(loss), g[0], z
    if method == "shift":
        z, jac = shift_jacobian(circuit, provider, x, angles, readout=readout, cz_error=cz_error, rng=rng)
        loss, dz = model.loss_and_dz(z, y)
        return float(loss), np.einsum("mbn,bn->m", jac, dz), z
    raise CryoctlError(f"unknown gradient method {method!r}; expected auto, adjoint or shift", field="gradient")


def finite_difference(model, provider, x, y, angles, eps: float = 1e-5) -> np.ndarray:
    """Central finite difference of the loss, all 2 m shifted parameter sets in one batched run."""
    angles = np.asarray(angles, dtype=float)
    m = angles.size
    sets = np.repeat(angles[None], 2 * m, axis=0)
    sets[np.arange(m), np.arange(m)] += eps
    sets[m + np.arange(m), np.arange(m)] -= eps
    z = expect(model.circuit, provider, x, sets)
    loss = np.array([model.loss_and_dz(zi, y)[0] for zi in z])  # 2 m scalars, not a hot path
    return (loss[:m] - loss[m:]) / (2 * eps)
