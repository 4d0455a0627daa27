"""Gate metrics on the qubit subspace {|0>, |1>} of a d-level realized operation.

Let P project onto the qubit block and write every operation as a row-major superoperator restricted
to qubit inputs and outputs, S_qb (4 x 4): for a unitary, S_qb = kron(M, M^*) with M = U[:2, :2].

Average gate fidelity against the nominal rotation R = exp(-i theta sigma_axis / 2). For a unitary,
with M = R^dag U_qb (Pedersen et al., PLA 367, 47 (2007); leakage makes M non-unitary):

    F = (Tr(M M^dag) + |Tr M|^2) / 6.

For a channel with Kraus operators K_r the same expression summed over r is

    F = (sum_{i,j in {0,1}} S_qb[jj, ii] + Tr(S_R^dag S_qb)) / 6,     S_R = kron(R, R^*),

where Tr(S_R^dag S_qb) = sum_r |Tr(R^dag K_r,qb)|^2 = 4 F_pro (process fidelity on the qubit block)
and the first sum is 2 (1 - leakage). Without leakage this is the standard F_avg = (d F_pro + 1)/(d + 1)
with d = 2 (Horodecki/Nielsen); with leakage it reduces exactly to the unitary formula above, so
unitary and channel tables give the same number for the same gate.

Leakage: population outside {0, 1} after the gate, averaged over the inputs |0> and |1>:

    L = 1 - (1/2) sum_{i,j in {0,1}} S_qb[jj, ii]     (= 1 - (1/2) sum |U_ji|^2 for a unitary).

Realized angle: from the Pauli transfer matrix on the block, R_ab = (1/2) Re Tr(sigma_a E(sigma_b)),
the rotation in the plane orthogonal to the axis, e.g. for x

    theta = atan2(R_zy - R_yz, R_yy + R_zz)     (RX(theta): y -> y cos theta + z sin theta),

defined modulo 2 pi; the angle error is wrap(theta - theta_nominal) in [-pi, pi).

Metrics of a table use its one :class:`~cryoctl.gates.calibration.Calibration` (never a second
angle <-> code rule):

- per code c (:func:`code_metrics`): the fidelity against the rotation the controller believes c
  makes, R(angles[c]) with angles[c] its measured angle (what remains is leakage, off-axis and
  incoherent error, not the amplitude quantization), the leakage, and ``linear_map_error`` =
  wrap(angles[c] - c * step), the error a controller with the linear map theta = c * pi / pi_code
  would commit at c (INL, pi unreachable);
- per requested angle theta (:func:`request_metrics`): the code the controller plays,
  c = code_for(theta), the realized angle of the table's operation for c, and the angle error
  wrap(theta_realized - theta) -- the error a circuit requesting theta applies, by construction;
- :func:`table_metrics` summarises the requests on the uniform grid theta_k = -pi + 2 pi k / n,
  k = 0..n-1 (:func:`request_grid`), whose rms error estimates the rms over uniformly distributed
  requests (about the largest adjacent-angle gap / sqrt(12) for a fine, uniform code grid).
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.conventions import check_axis, kron_conj, wrap_angle

_PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex
)  # I, X, Y, Z


def qubit_block_indices(levels: int) -> np.ndarray:
    """Row-major vec indices i d + j of the qubit block, ordered (00, 01, 10, 11)."""
    return np.array([0, 1, levels, levels + 1])


def qubit_superop(ops: np.ndarray, kind: str) -> np.ndarray:
    """Restrict unitaries (..., d, d) or channels (..., d^2, d^2) to the qubit block -> (..., 4, 4)."""
    ops = np.asarray(ops)
    if kind == "unitary":
        return kron_conj(ops[..., :2, :2])
    if kind == "channel":
        d = int(round(np.sqrt(ops.shape[-1])))
        idx = qubit_block_indices(d)
        return ops[..., idx[:, None], idx[None, :]]
    raise CryoctlError(f"unknown kind {kind!r}; expected 'unitary' or 'channel'", field="kind")


def rotation(axis: str, theta: np.ndarray) -> np.ndarray:
    """R_axis(theta) = cos(theta/2) I - i sin(theta/2) sigma_axis, (..., 2, 2)."""
    sigma = _PAULI[1 + check_axis(axis)]
    theta = np.asarray(theta, dtype=float)[..., None, None]
    return np.cos(theta / 2) * np.eye(2) - 1j * np.sin(theta / 2) * sigma


def _kept(s_qb: np.ndarray) -> np.ndarray:
    """sum_{i,j in {0,1}} S_qb[jj, ii]: total population kept in the block over inputs |0>, |1>."""
    diag = np.array([0, 3])  # vec indices of |0><0| and |1><1|
    return s_qb[..., diag[:, None], diag[None, :]].real.sum(axis=(-1, -2))


def average_gate_fidelity(ops: np.ndarray, kind: str, axis: str, theta: np.ndarray) -> np.ndarray:
    """F_avg on the qubit block against R_axis(theta) (see module docstring); shape (...)."""
    s_qb = qubit_superop(ops, kind)
    s_r = kron_conj(rotation(axis, theta))
    overlap = np.sum(np.conj(s_r) * s_qb, axis=(-1, -2)).real
    return (_kept(s_qb) + overlap) / 6.0


def leakage(ops: np.ndarray, kind: str) -> np.ndarray:
    """Population leaving {|0>, |1>}, averaged over the two inputs; shape (...)."""
    return 1.0 - 0.5 * _kept(qubit_superop(ops, kind))


def pauli_transfer(ops: np.ndarray, kind: str) -> np.ndarray:
    """R_ab = (1/2) Re Tr(sigma_a E(sigma_b)) on the qubit block, a, b in (I, X, Y, Z); (..., 4, 4)."""
    return _ptm(qubit_superop(ops, kind))


def _ptm(s_qb: np.ndarray) -> np.ndarray:
    vec = _PAULI.reshape(4, 4).T  # column b = vec(sigma_b), row-major
    # Tr(sigma_a X) = vec(sigma_a^T) . vec(X) = vec(sigma_a)^* . vec(X) for Hermitian sigma_a
    return 0.5 * np.einsum("ia,...ij,jb->...ab", np.conj(vec), s_qb, vec).real


def realized_angle(ops: np.ndarray, kind: str, axis: str) -> np.ndarray:
    """Rotation angle about ``axis`` from the Pauli transfer matrix, in (-pi, pi]; shape (...)."""
    return _angle_from_superop(qubit_superop(ops, kind), axis)


def _angle_from_superop(s_qb: np.ndarray, axis: str) -> np.ndarray:
    r = _ptm(s_qb)
    a = 1 + check_axis(axis)  # x -> 1, y -> 2
    p, q = {1: (2, 3), 2: (3, 1)}[a]  # the rotated plane (y, z) for x, (z, x) for y
    return np.arctan2(r[..., q, p] - r[..., p, q], r[..., p, p] + r[..., q, q])


def angle_error(ops: np.ndarray, kind: str, axis: str, theta: np.ndarray) -> np.ndarray:
    """wrap(realized - nominal) in [-pi, pi); shape (...)."""
    return wrap_angle(realized_angle(ops, kind, axis) - np.asarray(theta, dtype=float))


#: most requests table_metrics evaluates per channel (4 per code up to 14 bits)
MAX_REQUESTS = 2**16


def request_grid(bits: int) -> np.ndarray:
    """Uniform requests theta_k = -pi + 2 pi k / n over [-pi, pi), n = min(4 * 2^bits, MAX_REQUESTS)."""
    n = min(4 * 2**bits, MAX_REQUESTS)
    return -np.pi + 2 * np.pi * np.arange(n) / n


def code_metrics(table, axis: str, qubit: int) -> dict[str, np.ndarray]:
    """Per-code arrays for one channel (module docstring): ``code``, ``measured_angle``, ``fidelity``
    (against R(measured angle)), ``leakage``, ``linear_map_error`` (measured - code * step, wrapped)."""
    cal = table.calibration
    codes = table.codes
    measured = cal.angle(axis, qubit, codes)  # validates axis and qubit
    ops = table.ops[axis][qubit]  # every code, in code order: no copy
    return {
        "code": codes,
        "measured_angle": measured,
        "fidelity": average_gate_fidelity(ops, table.kind, axis, measured),
        "leakage": leakage(ops, table.kind),
        "linear_map_error": wrap_angle(measured - codes * cal.step(axis, qubit)),
    }


def request_metrics(table, axis: str, qubit: int, theta) -> dict[str, np.ndarray]:
    """What the controller does for requested angles ``theta`` (any shape) on one channel.

    ``code`` = calibration.code_for(theta), ``realized_angle`` of the table's operation for that code,
    ``angle_error`` = wrap(realized - theta), ``fidelity`` of that operation against R(theta) and its
    ``leakage``; every array has the shape of ``theta``. Each distinct code is evaluated once.
    """
    theta = np.asarray(theta, dtype=float)
    code = table.calibration.code_for(axis, qubit, theta)
    uniq, inv = np.unique(code, return_inverse=True)
    inv = inv.reshape(theta.shape)
    s_u = qubit_superop(table.lookup(axis, qubit, uniq), table.kind)
    realized, kept = _angle_from_superop(s_u, axis)[inv], _kept(s_u)[inv]
    overlap = np.sum(np.conj(kron_conj(rotation(axis, theta))) * s_u[inv], axis=(-1, -2)).real
    return {
        "theta": theta,
        "code": code,
        "realized_angle": realized,
        "angle_error": wrap_angle(realized - theta),
        "fidelity": (kept + overlap) / 6.0,
        "leakage": 1.0 - 0.5 * kept,
    }


def table_metrics(table) -> dict[str, float]:
    """Summary over all channels (module docstring).

    Per code (every code, axis, qubit): ``fidelity_mean``/``fidelity_min``/``infidelity_mean`` against
    the measured angle, ``leakage_max``/``leakage_mean``. Per request (the uniform grid
    :func:`request_grid` on every channel): ``angle_error_rms``/``angle_error_max`` and
    ``request_fidelity_mean`` (against the requested rotation). ``fidelity_pi``: the gate a circuit gets
    for a requested pi ("the X gate"), mean over channels. ``pi_code_error_rms``: rms of the
    calibrated pi pulses' realized angle - pi.
    """
    fid, leak, err, fid_req, fid_pi = [], [], [], [], []
    grid = request_grid(table.bits)
    for axis in table.ops:
        for q in range(table.n_qubits):
            m = code_metrics(table, axis, q)
            fid.append(m["fidelity"])
            leak.append(m["leakage"])
            r = request_metrics(table, axis, q, grid)
            err.append(r["angle_error"])
            fid_req.append(r["fidelity"])
            fid_pi.append(float(request_metrics(table, axis, q, np.pi)["fidelity"]))
    fid, leak, err = np.concatenate(fid), np.concatenate(leak), np.concatenate(err)
    return {
        "bits": int(table.bits),
        "kind": table.kind,
        "fidelity_mean": float(fid.mean()),
        "fidelity_min": float(fid.min()),
        "infidelity_mean": float(1.0 - fid.mean()),
        "leakage_max": float(leak.max()),
        "leakage_mean": float(leak.mean()),
        "angle_error_rms": float(np.sqrt(np.mean(err**2))),
        "angle_error_max": float(np.abs(err).max()),
        "request_fidelity_mean": float(np.mean(np.concatenate(fid_req))),
        "fidelity_pi": float(np.mean(fid_pi)),
        "pi_code_error_rms": float(np.sqrt(np.mean(table.calibration.pi_error**2))),
    }
