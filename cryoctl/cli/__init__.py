"""The ``cryoctl`` command. Sub-commands live in one module each and register on :data:`app`.

Start-up: a command module is imported only when its command runs (``cryoctl gates ...`` imports
``gates_cmd`` and through it the physics; ``cryoctl --help`` and ``cryoctl profile list`` import no
numerical stack beyond what they use). The top-level help lists every command from the modules' source
(:func:`_command_entries` reads their ``@app.command`` / ``app.add_typer`` registrations and help texts
with :mod:`ast`), so the listing shows the same names and help texts as the imported commands
(``tests/cli/test_startup.py`` compares them). A module whose registrations are not literal is imported
when listing, as before.
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from cryoctl.errors import CryoctlError


@dataclass(frozen=True)
class _Entry:
    """A top-level command as its module's source declares it (read without importing the module)."""

    name: str
    module: str
    is_group: bool
    attrs: tuple[tuple[str, Any], ...]  # help, short_help, hidden, deprecated, rich_help_panel as given

    def placeholder(self) -> TyperCommand:
        """A stand-in with the command's name and help texts, for the help listing only."""
        return TyperCommand(name=self.name, callback=None, **dict(self.attrs))


_HELP_KEYS = ("help", "short_help", "hidden", "deprecated", "rich_help_panel")


def _literal_kwargs(call: ast.Call) -> dict[str, Any]:
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in _HELP_KEYS + ("name",)}


def _is_app_call(node: ast.AST, attr: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "app")


def _scan_module(module: str) -> list[_Entry] | None:
    """The top-level commands ``cryoctl/cli/<module>.py`` registers on ``app``; None if its source does
    not say so literally (then the module is imported to list them)."""
    try:
        tree = ast.parse(Path(__file__).with_name(f"{module}.py").read_text(encoding="utf-8"))
        typers: dict[str, dict[str, Any]] = {}
        commands: list[_Entry] = []
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                f = node.value.func
                if isinstance(f, ast.Attribute) and f.attr == "Typer":
                    for t in node.targets:
                        if isinstance(t, ast.Name):
                            typers[t.id] = _literal_kwargs(node.value)
            elif isinstance(node, ast.Expr) and _is_app_call(node.value, "add_typer"):
                call = node.value
                sub = call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else None
                kw = {**{k: v for k, v in typers.get(sub, {}).items() if k != "name"}, **_literal_kwargs(call)}
                if sub not in typers or not isinstance(kw.get("name"), str):
                    return None
                name = kw.pop("name")
                commands.append(_Entry(name, module, True, tuple(sorted(kw.items()))))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    if _is_app_call(dec, "command"):
                        kw = _literal_kwargs(dec)
                        name = (ast.literal_eval(dec.args[0]) if dec.args else kw.pop("name", None)) \
                            or node.name.lower().replace("_", "-")
                        kw.pop("name", None)
                        if kw.get("help") is None:
                            kw["help"] = ast.get_docstring(node)  # inspect.getdoc, as typer does
                        commands.append(_Entry(name, module, False, tuple(sorted(kw.items()))))
            elif any(isinstance(n, ast.Name) and n.id == "app" for n in ast.walk(node)):
                return None  # another use of `app` (app.command(...)(fn), a loop): import to see it
        return commands
    except (OSError, SyntaxError, ValueError, TypeError, AttributeError, IndexError):
        return None


@functools.cache
def _command_entries() -> tuple[_Entry, ...]:
    """Every top-level command in typer's order (commands, then groups, module by module)."""
    entries: list[_Entry] = []
    for module in _COMMAND_MODULES:
        found = _scan_module(module)
        if found is None:  # not declared literally: import it, its commands then register on `app`
            importlib.import_module(f"cryoctl.cli.{module}")
            continue
        entries.extend(found)
    return tuple(sorted(entries, key=lambda e: e.is_group))  # stable: keeps module order within each kind


def load_all_commands() -> None:
    """Import every command module (each registers its commands on :data:`app`)."""
    for module in _COMMAND_MODULES:
        importlib.import_module(f"cryoctl.cli.{module}")


class _LazyGroup(TyperGroup):
    """The top-level group: imports a command's module when that command is looked up to run."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        names = [e.name for e in _command_entries()]
        return names + [n for n in self.commands if n not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is not None:
            return cmd
        entry = next((e for e in _command_entries() if e.name == cmd_name), None)
        if entry is None:
            return None
        if self._listing:
            return entry.placeholder()
        importlib.import_module(f"cryoctl.cli.{entry.module}")
        cmd = typer.main.get_group(app).commands.get(cmd_name)
        if cmd is not None:
            self.commands[cmd_name] = cmd
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="cryoctl",
    cls=_LazyGroup,
    help="Emulate the classical control stack of superconducting qubits: DAC codes -> pulses -> "
    "transmon physics -> QNNs, with power/area what-if studies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    # A callback makes `app` a group even before any command module is imported (no docstring: the
    # help text above stays the group's help).
    pass


# The command modules, each registering its commands on `app` when imported (lazily, see above).
_COMMAND_MODULES = ["profile_cmd", "dac_cmd", "gates_cmd", "qnn_cmd", "study_cmd", "cache_cmd", "rb_cmd", "cz_cmd", "sfq_cmd"]


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
