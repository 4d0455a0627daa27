"""Shared CLI pieces: the --json/--set options, --bits ranges, profile loading, output."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from cryoctl.profile import HardwareProfile, load_profile
from cryoctl.profile.ranges import parse_bits  # noqa: F401  (the one --bits parser, re-exported for commands)
from cryoctl.study.tasks import json_ready

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
    return load_profile(ref, overrides or [])


def save_figure(fig, path) -> None:
    """Write a matplotlib figure as PNG (creating the directory) and free it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_json(obj: Any) -> None:
    """One JSON document on stdout (NaN/inf become null so strict parsers accept it; other objects, such
    as paths, are written as their string)."""
    sys.stdout.write(json.dumps(json_ready(obj, strict=True), indent=2, default=str, allow_nan=False) + "\n")
