"""Build realized-gate tables for a profile, and cache them on disk.

For every qubit q, axis in (x, y) and every amplitude code c of the N-bit DAC, the table holds the
operation the hardware performs when the controller plays code c (:mod:`cryoctl.gates.realize`):
one batched engine call per (qubit, axis) over all 2^N codes (chunked only to bound memory). Qubits
are not shared on the strength of identical specs: each qubit's I and Q DACs have their own
mismatch. Only when two channels' transfer curves are bit-identical (no mismatch) and the gate is
deterministic is the result reused.

Noise average. Dynamic DAC noise/jitter is averaged exactly by per-sample Gauss-Hermite quadrature
(``method="auto"``/``"quadrature"``, :mod:`cryoctl.gates.realize`; no random draws, ``seed`` and
``n_noise_draws`` unused). With a reconstruction filter, or ``method="montecarlo"``, it is Monte-Carlo
averaged with ``n_noise_draws`` draws per code from ``numpy.random.default_rng([seed, q, a])`` for qubit
q and axis index a: independent streams per channel pair, identical for the same profile + seed
(bit-identical tables).
"""

from __future__ import annotations

import json
import zipfile

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.gates.cache import CODE_VERSION, atomic_write, cache_path
from cryoctl.gates.calibration import Calibration, calibrate
from cryoctl.gates.realize import DEFAULT_NODES, get_engine, noise_method, realize, table_kind
from cryoctl.gates.table import AXES, GateTable
from cryoctl.profile import profile_hash
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
    noise average, see :func:`~cryoctl.gates.realize.noise_method` (auto: exact quadrature unless filtered).
    """
    if n_noise_draws < 1:
        raise CryoctlError(f"expected n_noise_draws >= 1, got {n_noise_draws}", field="n_noise_draws")
    if seed < 0:
        raise CryoctlError(f"expected a non-negative seed, got {seed}", field="seed")
    eng = get_engine(engine)
    cal = calibration if calibration is not None else calibrate(profile, engine, cache_dir=cache_dir)
    if calibration is not None and calibration.profile_hash != profile_hash(profile):
        raise CryoctlError(
            f"calibration was made for profile {calibration.profile_hash}, not this profile "
            f"({profile_hash(profile)}): a calibration belongs to one chip and setting", field="calibration")
    kind = table_kind(profile)
    how = noise_method(profile, method)
    spec, nq, d = profile.dac, profile.qubits.count, profile.qubits.levels
    codes = np.arange(spec.code_min, spec.code_max + 1)
    ops = {axis: [] for axis in AXES}
    total = nq * len(AXES)
    done: dict[tuple, np.ndarray] = {}
    for q in range(nq):
        drive = Drive(profile, q)
        for a, axis in enumerate(AXES):
            beta = float(cal.drag_beta[q, a])
            # a deterministic gate depends only on the two DACs' transfer curves: channels with
            # identical curves (no mismatch, or a shared INL table) reuse the result bit for bit
            key = (axis, beta, drive.dac_i.levels.tobytes(), drive.dac_q.levels.tobytes())
            if kind == "unitary" and key in done:
                ops[axis].append(done[key])
            else:
                rng = np.random.default_rng([seed, q, a]) if how == "montecarlo" else None
                ops[axis].append(
                    realize(drive, codes, axis, beta, engine=eng, kind=kind, rng=rng, n_draws=n_noise_draws,
                            exact=exact, method=how if how != "none" else "auto", n_nodes=n_nodes)
                )
                if kind == "unitary":
                    done[key] = ops[axis][-1]
            if progress is not None:
                progress(q * len(AXES) + a + 1, total)
    ops = {axis: np.stack(v) for axis, v in ops.items()}
    return GateTable(
        profile_hash=profile_hash(profile),
        bits=spec.bits,
        levels=d,
        n_qubits=nq,
        angle_per_code=float(np.pi / np.median(cal.pi_codes)),
        phase_bits=profile.pulse.phase_bits,
        kind=kind,
        ops=ops,
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
        pi_codes=cal.pi_codes.copy(),
        drag_beta=cal.drag_beta.copy(),
    )


def _cache_name(profile: HardwareProfile, engine: str, seed: int, n_noise_draws: int) -> str:
    if noise_method(profile) == "quadrature":  # exact average: no seed, no draws, own name (not a MC file)
        return f"gates-{profile_hash(profile)}-{engine}-gh{DEFAULT_NODES}-{CODE_VERSION}.npz"
    return f"gates-{profile_hash(profile)}-{engine}-s{seed}-n{n_noise_draws}-{CODE_VERSION}.npz"


def save_table(table: GateTable, path) -> None:
    """Write a table as .npz atomically (temp file + os.replace)."""
    header = {
        "profile_hash": table.profile_hash,
        "bits": table.bits,
        "levels": table.levels,
        "n_qubits": table.n_qubits,
        "angle_per_code": table.angle_per_code,
        "phase_bits": table.phase_bits,
        "kind": table.kind,
        "meta": table.meta,
        "axes": list(table.ops),
    }
    arrays = {f"ops_{axis}": v for axis, v in table.ops.items()}
    if table.pi_codes is not None:
        arrays["pi_codes"] = table.pi_codes
    if table.drag_beta is not None:
        arrays["drag_beta"] = table.drag_beta
    atomic_write(path, lambda fh: np.savez(fh, header=np.array(json.dumps(header)), **arrays))


def load_table(path) -> GateTable:
    """Read a table written by :func:`save_table`; ValueError if the file is incomplete or corrupt."""
    try:
        with np.load(path, allow_pickle=False) as z:
            h = json.loads(str(z["header"]))
            ops = {axis: z[f"ops_{axis}"] for axis in h["axes"]}
            pi_codes = z["pi_codes"] if "pi_codes" in z.files else None
            beta = z["drag_beta"] if "drag_beta" in z.files else None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"unreadable gate table {path}: {exc}") from None
    n = 2 ** int(h["bits"])
    side = h["levels"] if h["kind"] == "unitary" else h["levels"] ** 2
    for v in ops.values():
        if v.shape != (h["n_qubits"], n, side, side):
            raise ValueError(f"gate table {path}: ops shape {v.shape} does not match its header")
    return GateTable(
        profile_hash=h["profile_hash"], bits=int(h["bits"]), levels=int(h["levels"]), n_qubits=int(h["n_qubits"]),
        angle_per_code=float(h["angle_per_code"]), phase_bits=int(h["phase_bits"]), kind=h["kind"], ops=ops,
        meta=dict(h["meta"], from_cache=True), pi_codes=pi_codes, drag_beta=beta,
    )


def load_or_build(
    profile: HardwareProfile,
    engine: str = "fast",
    seed: int = 0,
    cache_dir=None,
    n_noise_draws: int = DEFAULT_NOISE_DRAWS,
    progress=None,
) -> GateTable:
    """The gate table of ``profile`` from the on-disk cache, building (and caching) it on a miss.

    Key: profile hash + engine + seed + n_noise_draws + code version (quadrature-averaged tables:
    profile hash + engine + node count + code version; seed and draws do not enter them). A corrupt or truncated cache
    file is rebuilt and replaced, never an error.
    """
    get_engine(engine)
    path = cache_path(cache_dir, _cache_name(profile, engine, seed, n_noise_draws))
    if path.exists():
        try:
            table = load_table(path)
            if table.profile_hash == profile_hash(profile):
                return table
        except ValueError:
            pass  # corrupt: rebuild below
    table = build_gate_table(profile, engine, seed, n_noise_draws, cache_dir=cache_dir, progress=progress)
    save_table(table, path)
    return table

