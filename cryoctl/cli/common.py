"""Shared CLI pieces: the --json/--set options, profile loading, output."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from cryoctl.profile import HardwareProfile, load_profile

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


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    return str(o)


def save_figure(fig, path) -> None:
    """Write a matplotlib figure as PNG (creating the directory) and free it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_json(obj: Any) -> None:
    """One JSON document on stdout (NaN/inf become null so strict parsers accept it)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not np.isfinite(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    sys.stdout.write(json.dumps(clean(json.loads(json.dumps(obj, default=_default))), indent=2) + "\n")
