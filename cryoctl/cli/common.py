"""Shared CLI pieces: the --json/--set options, --bits ranges, profile loading, output."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

# The layers are imported where they are used: `cryoctl --help` and every command import this module,
# and only some of them need profiles (pydantic, numpy) or study results.
if TYPE_CHECKING:
    from cryoctl.profile import HardwareProfile

# Piped or redirected output has no terminal width; 160 columns keep result tables whole there.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
# soft_wrap: never insert line breaks into messages (a path split over lines cannot be copied or grepped)
err_console = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a profile field, e.g. --set dac.bits=6 (repeatable)."),
]


def profile_from_cli(ref: str, overrides: list[str] | None) -> HardwareProfile:
    from cryoctl.profile import load_profile

    return load_profile(ref, overrides or [])


def __getattr__(name: str) -> Any:
    # `from cryoctl.cli.common import parse_bits`: the one --bits parser, re-exported for the commands
    # and imported (with cryoctl.profile) only when a command asks for it.
    if name == "parse_bits":
        from cryoctl.profile.ranges import parse_bits

        return parse_bits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def save_figure(fig, path) -> None:
    """Write a matplotlib figure as PNG (creating the directory) and free it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_json(obj: Any) -> None:
    """One JSON document on stdout (NaN/inf become null so strict parsers accept it; other objects, such
    as paths, are written as their string)."""
    from cryoctl.study.tasks import json_ready

    sys.stdout.write(json.dumps(json_ready(obj, strict=True), indent=2, default=str, allow_nan=False) + "\n")
