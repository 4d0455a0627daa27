"""The ``cryoctl`` command. Sub-commands live in one module each and register on :data:`app`."""

from __future__ import annotations

import importlib
import sys

import typer

from cryoctl.errors import CryoctlError

app = typer.Typer(
    name="cryoctl",
    help="Emulate the classical control stack of superconducting qubits: DAC codes -> pulses -> "
    "transmon physics -> QNNs, with power/area what-if studies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module registers its commands on `app` when imported.
_COMMAND_MODULES = ["profile_cmd", "dac_cmd", "gates_cmd", "qnn_cmd", "study_cmd"]
for _name in _COMMAND_MODULES:
    importlib.import_module(f"cryoctl.cli.{_name}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors are printed without a traceback and exit with status 2."""
    from rich.markup import escape

    from cryoctl.cli.common import err_console

    try:
        # standalone_mode=False: click returns the exit code of typer.Exit instead of calling sys.exit
        rc = app(args=argv, standalone_mode=False)
    except CryoctlError as exc:
        # escape: user text in the message ("[/x]" in a file name or value) must not be read as markup
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
        return 2
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Exit):
            return exc.exit_code
        raise
    return rc if isinstance(rc, int) else 0


def _console_main() -> None:
    sys.exit(main())
