"""Names and conventions shared by every layer (one definition each).

- Drive axes: a rotation about x is played on a qubit's I DAC, about y on its Q DAC (DESIGN.md 'Pulse');
  z is virtual (a frame update), so it has no amplitude DAC.
- Engines: the physics engines, in the order the CLI lists them (registry: :func:`cryoctl.physics.get_engine`).
- Channel roles of a controller (DESIGN.md 'The whole control stack').
- Superoperators use numpy's ROW-MAJOR vectorisation, vec(rho) = rho.reshape(-1), so that
  vec(A rho B) = kron(A, B^T) vec(rho) and a unitary U acts as S = kron(U, U*) (:func:`kron_conj`).
- Angles are wrapped into [-pi, pi) (:func:`wrap_angle`): R(theta + 2 pi) = -R(theta) on the qubit block.
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError

DRIVE_AXES = ("x", "y")
ROTATION_AXES = ("x", "y", "z")
ENGINE_NAMES = ("fast", "qutip", "dynamics", "jax")
CHANNEL_ROLES = ("xy_i", "xy_q", "flux", "sfq")


def check_axis(axis: str, allowed: tuple[str, ...] = DRIVE_AXES) -> int:
    """Index of ``axis`` in ``allowed``; CryoctlError(field="axis") otherwise."""
    if not isinstance(axis, str) or axis not in allowed:
        raise CryoctlError(f"unknown axis {axis!r}; expected one of {list(allowed)}", field="axis")
    return allowed.index(axis)


def kron_conj(u: np.ndarray) -> np.ndarray:
    """Row-major superoperator of unitaries: S[(i d + j), (k d + l)] = U[i, k] U[j, l]^*.

    Batched over leading axes: (..., d, d) -> (..., d^2, d^2). The one implementation of kron(U, U*).
    """
    u = np.asarray(u)
    d = u.shape[-1]
    s = u[..., :, None, :, None] * np.conj(u)[..., None, :, None, :]
    return s.reshape(*u.shape[:-2], d * d, d * d)


def wrap_angle(theta) -> np.ndarray:
    """Map angles into [-pi, pi)."""
    return (np.asarray(theta, dtype=float) + np.pi) % (2 * np.pi) - np.pi
