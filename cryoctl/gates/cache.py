"""On-disk cache for calibrations and gate tables.

Location: ``cache_dir`` if given, else ``$CRYOCTL_CACHE``, else ``~/.cache/cryoctl``. Entries are
keyed by :func:`table_key` (a hash of exactly what a table depends on), the engine, the noise-average
settings and :data:`CODE_VERSION` (bump it whenever a change in dac/pulse/physics/gates alters the
numbers, so stale entries are never reused; ``cryoctl cache prune`` removes them).

File names (parsed back by :func:`cache_entries`):

- ``calibration-<key>-<engine>-<CODE_VERSION>.json``
- ``gates-<key>-<engine>-<how>-<CODE_VERSION>.npz``, ``<how>`` the solve plan's realization:
  ``mc-s<seed>-n<draws>`` (Monte Carlo noise average: the only one that depends on seed and draws),
  ``gh<nodes>`` (exact per-sample quadrature), else the method (``levels``, ``unitary``, ``lindblad``)

Writes are atomic: the payload goes to a temporary file ``.<name>.<random>.tmp`` in the same
directory, is flushed to disk, then ``os.replace``-d onto the final name. Several processes building
the same entry at once each write a complete file and the last rename wins; readers never see a
partial file. A file that does not parse (truncated, garbage), whose arrays do not have the shapes of
its header or the profile, or that holds a non-finite number, is treated as a miss: rebuilt and replaced.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.gates.plan import DEFAULT_NODES, solve_plan
from cryoctl.profile.hashing import content_hash
from cryoctl.profile.models import HardwareProfile

CODE_VERSION = "g3"

#: Profile fields no calibration or gate table depends on (cosmetic, or used only above the gates layer).
_NOT_IN_TABLE_KEY = ("name", "description", "cost", "readout")
_NOT_IN_QUBIT_KEY = ("cz_error", "per_qubit")


def default_cache_dir() -> Path:
    env = os.environ.get("CRYOCTL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cryoctl"


def resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    """``cache_dir`` if given, else :func:`default_cache_dir` (not created)."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def cache_path(cache_dir: str | Path | None, name: str) -> Path:
    """Path of a cache entry, creating the directory if needed."""
    d = resolve_cache_dir(cache_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CryoctlError(f"cannot create cache directory ({exc.strerror})", field=str(d)) from None
    return d / name


def atomic_write(path: Path, write: Callable[[object], None]) -> None:
    """Call ``write(fileobj)`` on a temp file next to ``path``, fsync, then rename onto ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --- keys ---------------------------------------------------------------------------------------------


def table_key_data(profile: HardwareProfile) -> dict[str, Any]:
    """What a calibration or gate table depends on: the profile minus name, description, cost, readout
    and ``qubits.cz_error``, with the qubits' physics resolved per qubit (``profile.transmon(q)``: a
    ``per_qubit`` override equal to the default is the same table)."""
    data = profile.model_dump(mode="json")
    for k in _NOT_IN_TABLE_KEY:
        data.pop(k, None)
    transmons = [profile.transmon(q).model_dump(mode="json") for q in range(profile.qubits.count)]
    resolved = set(_NOT_IN_QUBIT_KEY) | set(transmons[0])
    data["qubits"] = {**{k: v for k, v in data["qubits"].items() if k not in resolved}, "transmons": transmons}
    return data


def table_key(profile: HardwareProfile) -> str:
    """Hash of exactly what a table depends on (:func:`table_key_data`): changing only ``cost``,
    ``readout`` or ``qubits.cz_error`` keeps it; changing the DAC, the pulse or a qubit's physics
    does not. Calibrations and tables are named by it and checked against it when read."""
    return content_hash(table_key_data(profile))


def table_file_name(profile: HardwareProfile, engine: str, seed: int, n_noise_draws: int) -> str:
    """The table's file: key, engine, how it is realized (:func:`~cryoctl.gates.plan.solve_plan`) and
    the settings that realization depends on -- only a Monte Carlo average depends on seed and draws."""
    plan = solve_plan(profile, engine, n_nodes=DEFAULT_NODES, n_draws=n_noise_draws)
    how = {"montecarlo": f"mc-s{seed}-n{n_noise_draws}", "quadrature": f"gh{plan.n_nodes}"}.get(plan.method, plan.method)
    return f"gates-{table_key(profile)}-{engine}-{how}-{CODE_VERSION}.npz"


def calibration_file_name(profile: HardwareProfile, engine: str) -> str:
    return f"calibration-{table_key(profile)}-{engine}-{CODE_VERSION}.json"


# --- gate tables on disk ------------------------------------------------------------------------------


def save_table(table, path) -> None:
    """Write a table (calibration included, :meth:`GateTable.to_npz_arrays`) as .npz atomically."""
    arrays = table.to_npz_arrays()
    atomic_write(Path(path), lambda fh: np.savez(fh, **arrays))


def _check_table(table, path) -> None:
    """ValueError unless every operation has the shape of the table's header and every number of the
    table and its calibration is finite."""
    n = 2 ** int(table.bits)
    side = table.levels if table.kind == "unitary" else table.levels**2
    if not table.ops:
        raise ValueError(f"gate table {path}: no operations")
    for axis, v in table.ops.items():
        if v.shape != (table.n_qubits, n, side, side):
            raise ValueError(f"gate table {path}: ops[{axis}] shape {v.shape} does not match its header")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"gate table {path}: ops[{axis}] holds non-finite values")
    for name, v in table.calibration.to_arrays(prefix="").items():
        if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
            raise ValueError(f"gate table {path}: calibration {name} holds non-finite values")


def load_table(path):
    """Read a table written by :func:`save_table`; ValueError if the file is incomplete, corrupt, has
    arrays that do not match its header, or holds a non-finite number."""
    from cryoctl.gates.table import GateTable

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        table = GateTable.from_npz_arrays(arrays)
    except (OSError, EOFError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"unreadable gate table {path}: {exc}") from None
    _check_table(table, path)
    return dataclasses.replace(table, meta={**table.meta, "from_cache": True})


def load_or_build(
    profile: HardwareProfile,
    engine: str = "fast",
    seed: int = 0,
    cache_dir=None,
    n_noise_draws: int | None = None,
    progress=None,
):
    """The gate table of ``profile`` from the on-disk cache, building (and caching) it on a miss.

    Key: :func:`table_key` + engine + realization (+ seed and draws for a Monte Carlo average) + code
    version (:func:`table_file_name`). A corrupt, truncated or non-finite cache file, or one made for
    another profile, is rebuilt and replaced, never an error.
    """
    from cryoctl.gates import build  # build -> calibration -> this module: imported when first used

    draws = build.DEFAULT_NOISE_DRAWS if n_noise_draws is None else n_noise_draws
    path = cache_path(cache_dir, table_file_name(profile, engine, seed, draws))
    if path.exists():
        try:
            table = load_table(path)
            if (table.profile_hash == table_key(profile) and table.bits == profile.dac.bits
                    and table.n_qubits == profile.qubits.count and table.levels == profile.qubits.levels):
                return table
        except ValueError:
            pass  # corrupt or non-finite: rebuild below
    table = build.build_gate_table(profile, engine, seed, draws, cache_dir=cache_dir, progress=progress)
    _check_table(table, "(just built)")  # a NaN from the physics is a bug: never cache it
    save_table(table, path)
    return table


# --- listing and pruning ------------------------------------------------------------------------------

_ENTRY = re.compile(r"^(?P<kind>calibration|gates)-(?P<key>[0-9a-f]+)-(?P<engine>[a-z]+)-(?P<rest>.+?)\.(?:json|npz)$")
_TEMP = re.compile(r"^\..+\.tmp$")


@dataclasses.dataclass(frozen=True)
class CacheEntry:
    """One file of the cache directory, as ``cryoctl cache list`` shows it."""

    path: Path
    kind: str  # "calibration" | "table" | "temp" (a stray temporary file of an interrupted write)
    key: str | None
    engine: str | None
    code_version: str | None
    size_bytes: int
    mtime: float

    @property
    def stale(self) -> bool:
        """Never read again by this code: another code version, or a leftover temp file."""
        return self.kind == "temp" or self.code_version != CODE_VERSION

    def age_days(self, now: float | None = None) -> float:
        return ((time.time() if now is None else now) - self.mtime) / 86400.0

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "engine": self.engine, "size_bytes": self.size_bytes,
                "age_days": self.age_days(now), "code_version": self.code_version, "stale": self.stale,
                "file": self.path.name}


def cache_entries(cache_dir: str | Path | None = None) -> list[CacheEntry]:
    """Calibrations, tables and stray temp files in the cache directory, sorted by name (other files
    are not the cache's and are never listed or pruned). A missing directory is an empty cache."""
    d = resolve_cache_dir(cache_dir)
    if d.exists() and not d.is_dir():
        raise CryoctlError("is a file, expected the cache directory", field=str(d))
    out = []
    for p in sorted(d.iterdir()) if d.is_dir() else ():
        try:
            st = p.stat()
        except OSError:  # removed meanwhile
            continue
        if not p.is_file():
            continue
        if _TEMP.match(p.name):
            out.append(CacheEntry(p, "temp", None, None, None, st.st_size, st.st_mtime))
            continue
        m = _ENTRY.match(p.name)
        if m:
            version = m["rest"].rsplit("-", 1)[-1]
            kind = "table" if m["kind"] == "gates" else "calibration"
            out.append(CacheEntry(p, kind, m["key"], m["engine"], version, st.st_size, st.st_mtime))
    return out


def prune_cache(
    cache_dir: str | Path | None = None,
    *,
    older_than_days: float | None = None,
    everything: bool = False,
    dry_run: bool = False,
    now: float | None = None,
) -> list[CacheEntry]:
    """Remove cache entries and return them: stale ones (other code versions, stray temp files) by
    default, plus those older than ``older_than_days``, or all with ``everything``. ``dry_run``
    removes nothing. A temp file younger than a minute may belong to a build still running: kept."""
    if older_than_days is not None and not older_than_days >= 0:
        raise CryoctlError(f"expected a number of days >= 0, got {older_than_days}", field="--older-than")
    now = time.time() if now is None else now
    chosen = []
    for e in cache_entries(cache_dir):
        if e.kind == "temp" and e.age_days(now) * 86400.0 < 60.0 and not everything:
            continue
        if everything or e.stale or (older_than_days is not None and e.age_days(now) > older_than_days):
            chosen.append(e)
    if not dry_run:
        for e in chosen:
            try:
                e.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise CryoctlError(f"cannot remove cache entry ({exc.strerror})", field=str(e.path)) from None
    return chosen
