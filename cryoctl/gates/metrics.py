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
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.pulse import check_axis, wrap_angle

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
        m = ops[..., :2, :2]
        return np.einsum("...ik,...jl->...ijkl", m, np.conj(m)).reshape(*m.shape[:-2], 4, 4)
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
    r = rotation(axis, theta)
    s_r = np.einsum("...ik,...jl->...ijkl", r, np.conj(r)).reshape(*r.shape[:-2], 4, 4)
    overlap = np.sum(np.conj(s_r) * s_qb, axis=(-1, -2)).real
    return (_kept(s_qb) + overlap) / 6.0


def leakage(ops: np.ndarray, kind: str) -> np.ndarray:
    """Population leaving {|0>, |1>}, averaged over the two inputs; shape (...)."""
    return 1.0 - 0.5 * _kept(qubit_superop(ops, kind))


def pauli_transfer(ops: np.ndarray, kind: str) -> np.ndarray:
    """R_ab = (1/2) Re Tr(sigma_a E(sigma_b)) on the qubit block, a, b in (I, X, Y, Z); (..., 4, 4)."""
    s_qb = qubit_superop(ops, kind)
    vec = _PAULI.reshape(4, 4).T  # column b = vec(sigma_b), row-major
    # Tr(sigma_a X) = vec(sigma_a^T) . vec(X) = vec(sigma_a)^* . vec(X) for Hermitian sigma_a
    return 0.5 * np.einsum("ia,...ij,jb->...ab", np.conj(vec), s_qb, vec).real


def realized_angle(ops: np.ndarray, kind: str, axis: str) -> np.ndarray:
    """Rotation angle about ``axis`` from the Pauli transfer matrix, in (-pi, pi]; shape (...)."""
    r = pauli_transfer(ops, kind)
    a = 1 + check_axis(axis)  # x -> 1, y -> 2
    p, q = {1: (2, 3), 2: (3, 1)}[a]  # the rotated plane (y, z) for x, (z, x) for y
    return np.arctan2(r[..., q, p] - r[..., p, q], r[..., p, p] + r[..., q, q])


def angle_error(ops: np.ndarray, kind: str, axis: str, theta: np.ndarray) -> np.ndarray:
    """wrap(realized - nominal) in [-pi, pi); shape (...)."""
    return wrap_angle(realized_angle(ops, kind, axis) - np.asarray(theta, dtype=float))


def code_metrics(table, axis: str, qubit: int) -> dict[str, np.ndarray]:
    """Per-code arrays (fidelity, leakage, angle_error, nominal_angle) for one axis and qubit."""
    theta = table.nominal_angle_of(axis, qubit)
    ops = table.ops[axis][qubit]
    return {
        "nominal_angle": theta,
        "fidelity": average_gate_fidelity(ops, table.kind, axis, theta),
        "leakage": leakage(ops, table.kind),
        "angle_error": angle_error(ops, table.kind, axis, theta),
    }


def table_metrics(table) -> dict[str, float]:
    """Summary over all codes, axes and qubits: mean/min fidelity, max/mean leakage, rms/max angle error.

    Also the fidelity of the calibrated pi pulse (mean over qubits and axes), the quantity a lab
    quotes for "the X gate".
    """
    fid, leak, err, fid_pi = [], [], [], []
    for axis in table.ops:
        for q in range(table.n_qubits):
            m = code_metrics(table, axis, q)
            fid.append(m["fidelity"])
            leak.append(m["leakage"])
            err.append(m["angle_error"])
            if table.pi_codes is not None:
                fid_pi.append(m["fidelity"][int(table.pi_codes[q, check_axis(axis)]) - table.code_min])
    fid, leak, err = np.concatenate(fid), np.concatenate(leak), np.concatenate(err)
    out = {
        "bits": int(table.bits),
        "kind": table.kind,
        "fidelity_mean": float(fid.mean()),
        "fidelity_min": float(fid.min()),
        "infidelity_mean": float(1.0 - fid.mean()),
        "leakage_max": float(leak.max()),
        "leakage_mean": float(leak.mean()),
        "angle_error_rms": float(np.sqrt(np.mean(err**2))),
        "angle_error_max": float(np.abs(err).max()),
        "angle_per_code": float(table.angle_per_code),
    }
    if fid_pi:
        out["fidelity_pi"] = float(np.mean(fid_pi))
    return out
