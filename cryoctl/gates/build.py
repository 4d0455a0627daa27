"""Build realized-gate tables for a profile (the on-disk cache is :mod:`cryoctl.gates.cache`).

For every qubit q, axis in (x, y) and every amplitude code c of the N-bit DAC, the table holds the
operation the hardware performs when the controller plays code c (:mod:`cryoctl.gates.realize`):
one batched engine call per (qubit, axis) over all 2^N codes (chunked only to bound memory). Qubits
are not shared on the strength of identical specs: each qubit's I and Q DACs have their own
mismatch. Only when two channels' transfer curves are bit-identical (no mismatch) and the gate is
deterministic is the result reused.

Realization. The solve plan (:func:`~cryoctl.gates.plan.solve_plan`, made once, its memory checked
before anything is allocated) picks it: level look-up in ``sampled`` mode, else per-sample
Gauss-Hermite quadrature for a noisy DAC (both exact averages: no random draws, ``seed`` and
``n_noise_draws`` unused). With a reconstruction filter, or ``method="montecarlo"``, it is Monte-Carlo
averaged with ``n_noise_draws`` draws per code from ``numpy.random.default_rng([seed, q, a])`` for qubit
q and axis index a: independent streams per channel pair, identical for the same profile + seed
(bit-identical tables).

Calibration. The Rabi/DRAG scans (:func:`~cryoctl.gates.calibration.calibrate`) give each channel's
pi code and DRAG coefficient; once the table is built, the measured angle of every code,
angles[q, a, c] = realized_angle(ops[axis][q, c]), completes the table's one Calibration (the lab's
full Rabi scan, noise-averaged as measured), which gate metrics and circuits use to map angles to codes.
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.gates.cache import CODE_VERSION, table_key
from cryoctl.gates.calibration import Calibration, calibrate, measured_angles
from cryoctl.gates.plan import DEFAULT_NODES, solve_plan
from cryoctl.gates.realize import realize
from cryoctl.physics import get_engine
from cryoctl.gates.table import AXES, GateTable
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse import Drive

DEFAULT_NOISE_DRAWS = 32


def build_gate_table(
    profile: HardwareProfile,
    engine: str = "fast",
    seed: int = 0,
    n_noise_draws: int = DEFAULT_NOISE_DRAWS,
    *,
    calibration: Calibration | None = None,
    cache_dir=None,
    progress=None,
    exact: bool = False,
    method: str = "auto",
    n_nodes: int = DEFAULT_NODES,
) -> GateTable:
    """Realized operation for every code, axis and qubit of ``profile`` (see module docstring).

    ``calibration`` defaults to :func:`~cryoctl.gates.calibration.calibrate` (cached in
    ``cache_dir``). ``progress(done, total)`` is called after each (qubit, axis) if given. ``exact``: see
    :func:`~cryoctl.gates.realize.realize` (noise x decoherence factorization). ``method``/``n_nodes``:
    realization, see :func:`~cryoctl.gates.plan.solve_plan` (auto: level look-up, quadrature or Monte Carlo).
    """
    if n_noise_draws < 1:
        raise CryoctlError(f"expected n_noise_draws >= 1, got {n_noise_draws}", field="n_noise_draws")
    if seed < 0:
        raise CryoctlError(f"expected a non-negative seed, got {seed}", field="seed")
    plan = solve_plan(profile, engine, method, n_nodes, n_noise_draws, exact=exact)
    plan.check_memory()  # before anything is allocated (the calibration scans included)
    eng = get_engine(engine)
    cal = calibration if calibration is not None else calibrate(profile, engine, cache_dir=cache_dir)
    if calibration is not None and calibration.profile_hash != table_key(profile):
        raise CryoctlError(
            f"calibration was made for profile {calibration.profile_hash}, not this profile "
            f"({table_key(profile)}): a calibration belongs to one chip and setting", field="calibration")
    kind, how = plan.kind, plan.method
    spec, nq, d = profile.dac, profile.qubits.count, profile.qubits.levels
    codes = np.arange(spec.code_min, spec.code_max + 1)
    side = d if kind == "unitary" else d * d
    # preallocated: the table is held once (a list of per-channel blocks stacked at the end would hold it twice)
    ops = {axis: np.empty((nq, codes.size, side, side), dtype=complex) for axis in AXES}
    total = nq * len(AXES)
    done: dict[tuple, tuple[str, int]] = {}
    for q in range(nq):
        drive = Drive(profile, q)
        for a, axis in enumerate(AXES):
            beta = float(cal.drag_beta[q, a])
            # a deterministic gate depends only on the two DACs' transfer curves: channels with
            # identical curves (no mismatch, or a shared INL table) reuse the result bit for bit
            key = (axis, beta, drive.dac_i.levels.tobytes(), drive.dac_q.levels.tobytes())
            if kind == "unitary" and key in done:
                src_axis, src_q = done[key]
                ops[axis][q] = ops[src_axis][src_q]
            else:
                rng = np.random.default_rng([seed, q, a]) if how == "montecarlo" else None
                ops[axis][q] = realize(drive, codes, axis, beta, plan=plan, engine=eng, rng=rng)
                done[key] = (axis, q)
            if progress is not None:
                progress(q * len(AXES) + a + 1, total)
    return GateTable(
        profile_hash=table_key(profile),
        bits=spec.bits,
        levels=d,
        n_qubits=nq,
        phase_bits=profile.pulse.phase_bits,
        kind=kind,
        ops=ops,
        calibration=cal.with_angles(measured_angles(ops, kind)),  # the lab's full Rabi scan, every code
        meta={
            "engine": engine,
            "seed": int(seed),
            "n_noise_draws": int(n_noise_draws) if how == "montecarlo" else 0,
            "noise_average": how,
            "noise_nodes": int(n_nodes) if how == "quadrature" else 0,
            "noise_x_decoherence": "exact" if exact else "factorized",
            "code_version": CODE_VERSION,
            "amplitude_mode": profile.pulse.amplitude_mode,
            "pi_error": cal.pi_error.tolist(),
        },
    )
