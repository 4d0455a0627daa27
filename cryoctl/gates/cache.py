"""On-disk cache for calibrations and gate tables.

Location: ``cache_dir`` if given, else ``$CRYOCTL_CACHE``, else ``~/.cache/cryoctl``. Entries are
keyed by the profile hash, the engine, the seed and :data:`CODE_VERSION` (bump it whenever a change
in dac/pulse/physics/gates alters the numbers, so stale entries are never reused).

Writes are atomic: the payload goes to a temporary file in the same directory, is flushed to disk,
then ``os.replace``-d onto the final name. Several processes building the same entry at once each
write a complete file and the last rename wins; readers never see a partial file. A file that does
not parse (truncated, garbage) is treated as a miss and rebuilt.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryoctl.errors import CryoctlError

CODE_VERSION = "g1"


def default_cache_dir() -> Path:
    env = os.environ.get("CRYOCTL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cryoctl"


def cache_path(cache_dir: str | Path | None, name: str) -> Path:
    """Path of a cache entry, creating the directory if needed."""
    d = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
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
