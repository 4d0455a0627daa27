"""``cryoctl study run|status``, ``cryoctl report`` and ``cryoctl compare``.

- ``study run SPEC``: run every point of a study spec (and of the specs its ``parts`` name, into the same
  store) not yet finished in its store (default ``<spec dir>/<spec name>.sqlite``); local process pool (``--workers``) or a Dask cluster
  (``--scheduler tcp://host:8786``). Safe to interrupt or kill: re-running resumes. Exit status 2 if
  any point errored (errors are stored and retried by the next run).
- ``study status SPEC``: done / error / pending counts, and the errored points with their messages.
- ``report STORE -o DIR [--spec SPEC] [--accuracy-margin PTS] [--infidelity-target T] [--wall-plug-w-per-w S]``:
  self-contained HTML report (summary answers, interactive + static plots) plus PNG/CSV/JSON.
- ``compare PROFILE ...``: side-by-side table of profiles (DAC fields, power, area, qubits that fit).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, SetOpt, console, err_console, print_json, profile_from_cli
from cryoctl.errors import CryoctlError
# cryoctl.report (matplotlib) is imported by the commands that draw: `study run|status` do not.
from cryoctl.study import default_store_path, expand_points, load_study_with_parts, run_study, study_status

study_app = typer.Typer(
    help="Studies: profiles x grid x seeds x tasks, results in a resumable SQLite store.",
    no_args_is_help=True,
)
app.add_typer(study_app, name="study")

SpecArg = Annotated[Path, typer.Argument(help="Study spec (YAML): name, profiles, grid, seeds, tasks.")]
StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Result store (SQLite). Default: <spec dir>/<spec name>.sqlite.")
]


def _specs_and_store(spec_path: Path, store: Path | None):
    """The spec and its parts (all validated before anything runs) and the one store they share."""
    specs = load_study_with_parts(spec_path)
    return specs, (store if store is not None else default_store_path(spec_path, specs[0][1]))


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


@study_app.command("run")
def run_cmd(
    spec_path: SpecArg,
    store: StoreOpt = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Local worker processes (<= 1: run in-process).")] = 2,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address (tcp://host:port) instead of local workers.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the points of SPEC (and of its parts) that are not finished yet; store each as soon as it finishes."""
    specs, store_path = _specs_and_store(spec_path, store)
    t0 = time.monotonic()
    summaries = []
    for i, (path, spec) in enumerate(specs):
        if len(specs) > 1:
            err_console.print(f"[bold]part {i + 1}/{len(specs)}[/]: {escape(str(path))}")
        ts = time.monotonic()
        summary = run_study(spec, store_path, workers=workers, scheduler=scheduler, progress=True,
                            console=err_console, source=str(path))
        summaries.append((path, spec, summary, time.monotonic() - ts))
        if not json_out:  # each part's line as soon as it finishes
            _print_run(spec, summary, summaries[-1][3], store_path)
    elapsed = time.monotonic() - t0
    if json_out:
        print_json({"elapsed_s": round(elapsed, 1), "parts": [
            {**s.to_dict(), "spec": str(p), "study": sp.name, "elapsed_s": round(dt, 1)} for p, sp, s, dt in summaries]}
            if len(specs) > 1 else {**summaries[0][2].to_dict(), "elapsed_s": round(elapsed, 1)})
    elif len(specs) > 1:
        console.print(f"{len(specs)} parts, {sum(s.points for _, _, s, _ in summaries)} points in {_minutes(elapsed)}")
    errors = sum(s.errors for _, _, s, _ in summaries)
    lost = sum(s.lost for _, _, s, _ in summaries)
    if errors or lost:
        # main() turns this into a message on stderr and a non-zero exit status (scripts notice).
        raise CryoctlError(
            f"{errors} errored and {lost} lost of {sum(s.points for _, _, s, _ in summaries)} points (errors are "
            f"stored: 'cryoctl study status {spec_path}' lists them; re-running retries them)", field=str(spec_path))


def _print_run(spec, summary, seconds: float, store_path: Path) -> None:
    console.print(
        f"[bold]{escape(spec.name)}[/]: {summary.points} points, {summary.skipped} already done, "
        f"{summary.done} finished now, {summary.errors} errored, {summary.lost} lost"
        + (f", {summary.elsewhere} stored by another run" if summary.elsewhere else "")
        + (f", {summary.taken_over} taken over from a dead run" if summary.taken_over else "")
        + f" in {_minutes(seconds)}  (store {escape(str(store_path))}, {escape(summary.backend)})"
    )
    for key, msg in list(summary.error_messages.items())[:20]:
        console.print(f"  [red]error[/] {key}: {escape(msg.splitlines()[0] if msg else '')}")


@study_app.command("status")
def status_cmd(spec_path: SpecArg, store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Done / error / pending points of SPEC (and of its parts) in its store, and the errored points."""
    specs, store_path = _specs_and_store(spec_path, store)
    states = [study_status(spec, store_path, source=str(path)) for path, spec in specs]
    if json_out:
        print_json(states[0] if len(states) == 1 else {"parts": states})
        return
    for st in states:
        _print_status(st, store_path)


def _print_status(st: dict, store_path: Path) -> None:
    console.print(f"[bold]{escape(st['study'])}[/] ({escape(str(store_path))}): {st['points']} points -- "
                  f"{st['done']} done, {st['error']} error, {st['pending']} pending"
                  + (f" ({st['running']} running now)" if st.get("running") else ""))
    for r in st.get("runs", []):
        console.print(f"  running: pid {r['pid']} on {escape(r['host'])}, {r['points']} points claimed")
    t = Table("task", "done", "error", "pending")
    for kind, c in st["by_kind"].items():
        t.add_row(kind, str(c["done"]), str(c["error"]), str(c["pending"]))
    console.print(t)
    if st["errors"]:
        e = Table("key", "profile", "task", "seed", "overrides", "attempts", "error", title="errored points")
        for r in st["errors"]:
            e.add_row(r["key"], r["profile"], r["kind"], str(r["seed"]), escape(str(r["overrides"])),
                      str(r["attempts"]), escape((r["error"] or "").splitlines()[0]))
        console.print(e)


@app.command("report")
def report_cmd(
    store: Annotated[Path, typer.Argument(help="Result store written by 'cryoctl study run'.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory (created).")],
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Only the points of this study spec and its parts (default: every row of the store).")
    ] = None,
    accuracy_margin: Annotated[float, typer.Option(
        "--accuracy-margin", help="Summary: min bits keeping QNN accuracy within this many points of float.")] = 1.0,
    infidelity_target: Annotated[float, typer.Option(
        "--infidelity-target", help="Summary: min bits keeping gate error (1 - F) below this.")] = 1e-3,
    wall_plug: Annotated[float, typer.Option(
        "--wall-plug-w-per-w", help="Wall-plug watts per watt removed at 4 K (cryocooler; default 1000, an assumption).")
    ] = 1000.0,
    json_out: JsonOpt = False,
) -> None:
    """Self-contained HTML report (summary answers, interactive and static plots) plus PNG/CSV/JSON files."""
    from cryoctl.report import build_report

    keys = ({p.key for path, sp in load_study_with_parts(spec) for p in expand_points(sp, str(path))}
            if spec is not None else None)
    summary = build_report(store, out_dir, keys=keys, accuracy_margin=accuracy_margin,
                           infidelity_target=infidelity_target, wall_plug_w_per_w=wall_plug)
    if json_out:
        print_json({k: summary[k] for k in ("store", "out_dir", "html", "points", "errors", "quality", "plots")})
        return
    drawn = [k for k, v in summary["plots"].items() if v]
    missing = [k for k, v in summary["plots"].items() if not v]
    console.print(f"report: {escape(summary['html'])} ({summary['points']} points, {summary['errors']} errored)")
    console.print(f"  plots: {', '.join(drawn) or 'none'}")
    for a in summary["accuracy_answers"]:
        if not a["abstract"] and not a["reference"]:
            mb = "not reached" if a["min_bits"] is None else f"{a['min_bits']:g} bits"
            console.print(f"  accuracy within {accuracy_margin:g} pt of float: {escape(a['design'])} "
                          f"({escape(a['task'])}): {mb}")
    for g in summary["gate_answers"]:
        if not g["reference"]:
            mb = "not reached" if g["min_bits"] is None else f"{g['min_bits']:g} {g['axis']}"
            console.print(f"  {escape(g['gate'].split(':')[0])} error < {infidelity_target:g}: {escape(g['design'])}: {mb}")
    seed = summary.get("seed_study")
    if seed:  # the seed-study claims, one verdict line each (the HTML has the chapters)
        verdicts = ([("elbow", v) for v in seed["elbow"]["verdicts"]] + [("deadlock", v) for v in seed["deadlock"]["verdicts"]]
                    + [("stochastic", v) for v in seed["trainers"]["verdicts"]])
        for claim, v in verdicts:
            console.print(f"  seed study, {claim}: {escape(v['text'])}", soft_wrap=True)  # one greppable line
        for m in seed["moonshot"]:
            console.print(f"  seed study, moonshot: {escape(m['text'])}", soft_wrap=True)
    if missing:
        console.print(f"  no data for: {', '.join(missing)}")


@app.command("compare")
def compare_cmd(
    profiles: Annotated[list[str], typer.Argument(help="Shipped profile names or YAML paths.")],
    overrides: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Side-by-side: key DAC fields, power and area per channel/qubit/system, qubits that fit the stage."""
    from cryoctl.report import COMPARE_ROWS, compare_profiles

    recs = compare_profiles([profile_from_cli(p, overrides) for p in profiles])
    if json_out:
        print_json({"profiles": recs})
        return
    t = Table("", *[r["name"] for r in recs], title="profiles compared")
    for key, label, unit in COMPARE_ROWS:
        cells = []
        for r in recs:
            v = r.get(key)
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        t.add_row(f"{label}" + (f" ({unit})" if unit else ""), *cells)
    console.print(t)
