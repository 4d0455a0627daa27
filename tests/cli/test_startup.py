"""Start-up: commands import only what they use. Checked on the import graph (fresh interpreters), not
on time -- benchmarks/bench_startup.py measures the times."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("scipy", "matplotlib", "qutip", "sklearn", "qiskit", "distributed")

PROBE = r"""
import contextlib, io, json, sys
from cryoctl.cli import main
args = json.loads(sys.argv[1])
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(args) if args is not None else None
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


def _modules_after(args) -> tuple[int | None, set[str]]:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=REPO, capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "COLUMNS": "100"})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return got["rc"], set(got["modules"])


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_import_cli_and_help_load_no_numerical_stack():
    for args in (None, ["--help"]):
        rc, mods = _modules_after(args)
        assert rc in (None, 0)
        assert not _top(mods) & {*HEAVY, "numpy", "pydantic", "yaml"}, (args, sorted(_top(mods) & {*HEAVY, "numpy"}))
        assert not {m for m in mods if m.startswith("cryoctl.") and m.endswith("_cmd")}, args  # no command module
        assert not {m for m in mods if m.split(".")[:2] in (["cryoctl", "study"], ["cryoctl", "profile"])}


def test_profile_list_and_study_status_load_only_their_layers(tmp_path):
    rc, mods = _modules_after(["profile", "list", "--json"])
    assert rc == 0
    assert not _top(mods) & set(HEAVY), sorted(_top(mods) & set(HEAVY))
    assert {m for m in mods if m.endswith("_cmd")} == {"cryoctl.cli.profile_cmd"}
    assert not {m for m in mods if m.split(".")[:2] in (["cryoctl", "dac"], ["cryoctl", "physics"], ["cryoctl", "report"])}
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nprofiles: [ideal]\ntasks: [{kind: cost}]\n")
    rc, mods = _modules_after(["study", "status", str(spec), "--json"])
    assert rc == 0
    assert not _top(mods) & {"matplotlib", "qutip", "distributed"}
    assert "cryoctl.report" not in mods


def test_an_unknown_command_is_still_a_usage_error():
    r = subprocess.run([sys.executable, "-c", "import sys; from cryoctl.cli import main; sys.exit(main(sys.argv[1:]))",
                        "prfile", "list"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "prfile" in r.stderr


# The top-level help lists every command from the modules' source; once the modules are imported, typer
# builds the same listing from the real commands. Both renderings must be identical.
SAME_HELP = r"""
import contextlib, io, json
from cryoctl.cli import _command_entries, app, load_all_commands, main
import typer

def render():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--help"]) == 0
    return out.getvalue()

lazy = render()
entries = [(e.name, e.module, e.is_group, dict(e.attrs)) for e in _command_entries()]
load_all_commands()
real = typer.main.get_group(app)
keys = ("help", "short_help", "hidden", "deprecated", "rich_help_panel")
print(json.dumps({"lazy": lazy, "eager": render(), "entries": [e[:3] for e in entries],
                  "real_order": list(real.commands),
                  "mismatch": [(n, k, a.get(k), getattr(real.commands[n], k, None)) for n, m, g, a in entries
                               for k in keys if (a.get(k) or None) != (getattr(real.commands[n], k, None) or None)]}))
"""


def test_lazy_help_listing_equals_the_imported_commands():
    r = subprocess.run([sys.executable, "-c", SAME_HELP], cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "TERM": "dumb"})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    names = [e[0] for e in got["entries"]]
    assert names == got["real_order"][: len(names)]  # the same commands, in typer's order
    assert {"profile", "dac", "gates", "study", "report", "compare", "cache"} <= set(names)
    assert got["mismatch"] == []
    assert got["lazy"] == got["eager"]
    assert "profile" in got["lazy"] and "Hardware profiles" in got["lazy"]
