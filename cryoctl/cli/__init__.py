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
_COMMAND_MODULES = ["profile_cmd", "dac_cmd", "gates_cmd", "qnn_cmd", "study_cmd", "cache_cmd"]
for _name in _COMMAND_MODULES:
    importlib.import_module(f"cryoctl.cli.{_name}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors are printed without a traceback and exit with status 2.

    User errors are: :class:`CryoctlError`; command-line usage errors (missing argument, unknown
    option or command, a value of the wrong type), printed with the usage line as click does; and
    operating-system errors on a path the user gave (an output path that is a directory, a file where
    a directory is needed, no permission), printed as one line naming the path.
    """
    from rich.markup import escape

    from cryoctl.cli.common import err_console

    def error(msg: str) -> int:
        # escape: user text in the message ("[/x]" in a file name or value) must not be read as markup
        err_console.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, markup=True)
        return 2

    try:
        # standalone_mode=False: click returns the exit code of typer.Exit instead of calling sys.exit
        rc = app(args=argv, standalone_mode=False)
    except CryoctlError as exc:
        return error(str(exc))
    except KeyboardInterrupt as exc:
        err_console.print(f"interrupted{': ' + str(exc) if str(exc) else ''}", highlight=False, markup=False)
        return 130
    except OSError as exc:
        where = exc.filename if exc.filename is not None else "file"
        return error(f"{where}: {exc.strerror or exc}")
    except Exception as exc:
        # typer vendors its own copy of click (typer._click), so click's exception classes are matched
        # by behaviour: usage errors have show() and an exit code, Exit has an exit code, Abort neither.
        name = type(exc).__name__
        if name == "Abort":
            err_console.print("aborted")
            return 130
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code or 2
        if name == "Exit" and isinstance(getattr(exc, "exit_code", None), int):
            return exc.exit_code
        raise
    return rc if isinstance(rc, int) else 0


def _console_main() -> None:
    sys.exit(main())
