"""``cryoctl cache list|prune``: see and prune the on-disk calibration and gate-table cache.

The cache directory is ``--cache-dir``, else ``$CRYOCTL_CACHE``, else ``~/.cache/cryoctl``. Only the
cache's own files are listed or removed (``calibration-*.json``, ``gates-*.npz`` and stray
``.*.tmp`` files of interrupted writes); anything else in the directory is left alone.

- ``cache list``: one row per entry: kind (calibration / table / temp), table key, engine, size,
  age, code version, and whether it is stale (another code version: never read again).
- ``cache prune``: by default removes stale entries (other code versions, stray temp files older than
  a minute); ``--older-than DAYS`` also removes entries not written for that long, ``--all``
  everything; ``--dry-run`` only says what would go.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, console, print_json
from cryoctl.gates.cache import CODE_VERSION, CacheEntry, cache_entries, prune_cache, resolve_cache_dir

cache_app = typer.Typer(help="The on-disk cache of calibrations and gate tables: list and prune.",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")

CacheDirOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Cache directory (default: $CRYOCTL_CACHE, else ~/.cache/cryoctl)."),
]


def _size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB"):
        n /= 1000
        if n < 1000:
            return f"{n:.1f} {unit}"
    return f"{n / 1000:.1f} GB"


def _age(days: float) -> str:
    if days < 1 / 24:
        return f"{days * 1440:.0f} min"
    if days < 1:
        return f"{days * 24:.1f} h"
    return f"{days:.1f} d"


def _doc(directory: Path, entries: list[CacheEntry], now: float, **extra) -> dict:
    return {"cache_dir": str(directory), "code_version": CODE_VERSION, **extra,
            "entries": [e.to_dict(now) for e in entries], "total_bytes": sum(e.size_bytes for e in entries)}


def _table(title: str, entries: list[CacheEntry], now: float) -> Table:
    table = Table(title=title)
    for col in ("kind", "key", "engine", "size", "age", "version", "stale"):
        table.add_column(col, justify="right" if col in ("size", "age") else "left")
    for e in entries:
        table.add_row(e.kind, e.key or "-", e.engine or "-", _size(e.size_bytes), _age(e.age_days(now)),
                      e.code_version or "-", "yes" if e.stale else "")
    return table


@cache_app.command("list")
def list_cmd(cache_dir: CacheDirOpt = None, json_out: JsonOpt = False) -> None:
    """List the calibrations and gate tables in the cache."""
    directory, now = resolve_cache_dir(cache_dir), time.time()
    entries = cache_entries(directory)
    if json_out:
        print_json(_doc(directory, entries, now))
        return
    stale = sum(e.stale for e in entries)
    console.print(_table(f"cache {directory} (code version {CODE_VERSION})", entries, now))
    console.print(f"{len(entries)} entries, {_size(sum(e.size_bytes for e in entries))}, {stale} stale "
                  "(`cryoctl cache prune` removes them)", highlight=False)


@cache_app.command("prune")
def prune_cmd(
    cache_dir: CacheDirOpt = None,
    older_than: Annotated[
        float | None, typer.Option("--older-than", metavar="DAYS", help="Also remove entries older than DAYS days.")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Remove every cache entry.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Remove stale entries (other code versions, stray temp files), or older ones, or all."""
    directory, now = resolve_cache_dir(cache_dir), time.time()
    removed = prune_cache(directory, older_than_days=older_than, everything=everything, dry_run=dry_run, now=now)
    if json_out:
        print_json(_doc(directory, removed, now, dry_run=dry_run))
        return
    verb = "would remove" if dry_run else "removed"
    if removed:
        console.print(_table(f"{verb} from {directory}", removed, now))
    console.print(f"{verb} {len(removed)} entries, {_size(sum(e.size_bytes for e in removed))}", highlight=False)
