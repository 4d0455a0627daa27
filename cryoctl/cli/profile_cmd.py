"""``cryoctl profile``: list, show, validate, diff hardware profiles and export their JSON Schema.

Every sub-command takes a shipped profile name (``cryo_cmos_6bit``) or a path to a YAML file; ``--json``
prints exactly one JSON document on stdout. A profile that fails to load is reported as
``error: <file>: <field>: <what was expected>`` on stderr and the command exits non-zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, SetOpt, console, print_json, profile_from_cli
from cryoctl.errors import CryoctlError

# cryoctl.profile (pydantic models, numpy) is imported inside the commands: `cryoctl profile --help`
# needs none of it.
if TYPE_CHECKING:
    from cryoctl.profile import HardwareProfile

profile_app = typer.Typer(
    help="Hardware profiles: list the shipped ones, show a resolved profile and its hash, validate files, "
    "diff two profiles, export the JSON Schema.",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")

#: Lists longer than this (INL tables: 2^bits entries) are shown as length + content hash.
LONG_LIST = 16

ProfileArg = Annotated[str, typer.Argument(help="Shipped profile name (e.g. cryo_cmos_6bit) or path to a YAML file.")]


def _summarise(value: Any) -> Any:
    """Replace long lists (INL tables) by {"len", "sha"} so that tables and diffs stay readable."""
    from cryoctl.profile import content_hash

    if isinstance(value, dict):
        return {k: _summarise(v) for k, v in value.items()}
    if isinstance(value, list) and len(value) > LONG_LIST:
        return {"len": len(value), "sha": content_hash(value)}
    return value


def _dump(profile: HardwareProfile) -> dict[str, Any]:
    return profile.model_dump(mode="json")


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"len", "sha"}:
        return f"<{value['len']} values, sha {value['sha']}>"
    return json.dumps(value)


@profile_app.command("list")
def list_cmd(json_out: JsonOpt = False) -> None:
    """List the shipped profiles (files in hw_profiles/ not starting with '_')."""
    from cryoctl.profile import load_profile, profile_hash, shipped_profiles

    rows = []
    for path in shipped_profiles():
        p = load_profile(path)
        rows.append(
            {
                "name": p.name,
                "file": path.name,
                "bits": p.dac.bits,
                "sample_rate_gsps": p.dac.sample_rate_gsps,
                "temperature_k": p.cost.temperature_k,
                "hash": profile_hash(p),
                "description": p.description,
            }
        )
    if json_out:
        print_json(rows)
        return
    table = Table(title="shipped hardware profiles")
    for col in ("name", "bits", "GS/s", "T (K)", "hash", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"], str(r["bits"]), f"{r['sample_rate_gsps']:g}", f"{r['temperature_k']:g}", r["hash"],
            escape(r["description"]),
        )
    console.print(table)


@profile_app.command("show")
def show_cmd(profile: ProfileArg, overrides: SetOpt = None, json_out: JsonOpt = False) -> None:
    """Show the fully resolved profile (extends merged, --set applied) and its content hash."""
    from cryoctl.profile import profile_hash, resolve_profile_path

    path = resolve_profile_path(profile)
    p = profile_from_cli(profile, overrides)
    h = profile_hash(p)
    if json_out:
        print_json({"source": str(path), "hash": h, "overrides": list(overrides or []), "profile": _dump(p)})
        return
    data = _summarise(_dump(p))
    tree = Tree(f"[bold]{escape(p.name)}[/]  hash [cyan]{h}[/]  ({escape(str(path))})")
    if p.description:
        tree.add(escape(p.description))
    for key, value in data.items():
        if key in ("name", "description"):
            continue
        if isinstance(value, dict) and not set(value) == {"len", "sha"}:
            _add_section(tree.add(f"[bold]{key}[/]"), value)
        else:
            tree.add(f"{key} = {escape(_fmt(value))}")
    console.print(tree)


def _add_section(node: Tree, section: dict[str, Any]) -> None:
    for key, value in section.items():
        if isinstance(value, dict) and not set(value) == {"len", "sha"}:
            _add_section(node.add(f"[bold]{key}[/]"), value)
        else:
            node.add(f"{key} = {escape(_fmt(value))}")


@profile_app.command("validate")
def validate_cmd(
    profiles: Annotated[list[str], typer.Argument(help="Profile names or YAML files.")],
    overrides: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate profiles; report ok/fail per file and exit non-zero if any fails."""
    from cryoctl.profile import profile_hash

    results = []
    for ref in profiles:
        try:
            p = profile_from_cli(ref, overrides)
            results.append({"profile": ref, "ok": True, "name": p.name, "hash": profile_hash(p), "error": None})
        except CryoctlError as exc:
            results.append({"profile": ref, "ok": False, "name": None, "hash": None, "error": str(exc)})
    if json_out:
        print_json(results)
    else:
        table = Table(title="profile validation")
        for col in ("profile", "result", "hash / error"):
            table.add_column(col, overflow="fold")
        for r in results:
            table.add_row(
                escape(r["profile"]),
                "[green]ok[/]" if r["ok"] else "[red]FAIL[/]",
                r["hash"] if r["ok"] else escape(r["error"]),
            )
        console.print(table)
    failed = [r["profile"] for r in results if not r["ok"]]
    if failed:
        raise CryoctlError(
            f"{len(failed)} of {len(results)} profiles failed validation: {', '.join(failed)}", field="profile validate"
        )


def diff_profiles(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Differences between two dumped profiles as ``[{"path": "dac.bits", "a": 6, "b": 4}, ...]``.

    Mappings present on both sides are compared key by key; anything else (numbers, strings, lists,
    a section on one side and null on the other) is compared as a whole at its dotted path.
    """
    out = []
    for key in sorted(set(a) | set(b)):
        path = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out.extend(diff_profiles(va, vb, prefix=f"{path}."))
        elif va != vb:
            out.append({"path": path, "a": _summarise(va), "b": _summarise(vb)})
    return out


@profile_app.command("diff")
def diff_cmd(
    profile_a: ProfileArg,
    profile_b: ProfileArg,
    set_a: Annotated[list[str] | None, typer.Option("--set-a", help="Override on profile A (repeatable).")] = None,
    set_b: Annotated[list[str] | None, typer.Option("--set-b", help="Override on profile B (repeatable).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Fields that differ between two resolved profiles, as dotted paths."""
    from cryoctl.profile import profile_hash

    pa, pb = profile_from_cli(profile_a, set_a), profile_from_cli(profile_b, set_b)
    ha, hb = profile_hash(pa), profile_hash(pb)
    diffs = diff_profiles(_dump(pa), _dump(pb))
    if json_out:
        print_json({"a": {"profile": profile_a, "hash": ha}, "b": {"profile": profile_b, "hash": hb},
                    "same_hash": ha == hb, "differences": diffs})
        return
    table = Table(title=f"{escape(profile_a)} ({ha})  vs  {escape(profile_b)} ({hb})")
    for col in ("field", "A", "B"):
        table.add_column(col, overflow="fold")
    for d in diffs:
        table.add_row(d["path"], escape(_fmt(d["a"])), escape(_fmt(d["b"])))
    console.print(table)
    note = "same content hash (only name/description differ)" if ha == hb and diffs else (
        "identical" if not diffs else f"{len(diffs)} field(s) differ")
    console.print(note)


@profile_app.command("schema")
def schema_cmd(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON Schema to this file.")] = None,
) -> None:
    """JSON Schema (draft 2020-12) of profile files, for editors and external validators."""
    from cryoctl.profile import profile_json_schema

    schema = profile_json_schema()
    if output is None:
        print_json(schema)
        return
    try:
        output.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CryoctlError(f"cannot write schema ({exc.strerror})", field=str(output)) from None
    console.print(f"wrote {escape(str(output))}")
