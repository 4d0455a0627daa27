"""`cryoctl gates` through cryoctl.cli.main: JSON rows match the library, PNG written, bad input."""

import json

import numpy as np
import pytest
from rich.console import Console

from cryoctl.cli import gates_cmd, main
from cryoctl.cli.gates_cmd import parse_bits
from cryoctl.errors import CryoctlError
from cryoctl.gates import build_gate_table, calibrate, table_metrics
from cryoctl.profile import load_profile

PROFILE = """\
name: tmp gates
dac:
  bits: 6
  unit_mismatch_sigma: 0.02
  mismatch_seed: 4
qubits:
  count: 2
"""


@pytest.fixture()
def profile_path(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    p = tmp_path / "p.yaml"
    p.write_text(PROFILE)
    return p


def test_parse_bits():
    assert parse_bits("2..5", 8) == [2, 3, 4, 5]
    assert parse_bits(" 7 ", 8) == [7]
    assert parse_bits(None, 8) == [8]
    for bad in ("5..2", "x", "0..3", "2..30", "2-5"):
        with pytest.raises(CryoctlError, match="--bits"):
            parse_bits(bad, 8)


def test_json_rows_match_library_and_png_is_written(profile_path, tmp_path, capsys):
    out = tmp_path / "plots"
    capsys.readouterr()
    assert main(["gates", str(profile_path), "--bits", "3..5", "-o", str(out), "--json", "--set", "qubits.levels=2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["bits"] for r in doc["rows"]] == [3, 4, 5]
    for r in doc["rows"]:
        p = load_profile(profile_path, ["qubits.levels=2", f"dac.bits={r['bits']}"])
        want = table_metrics(build_gate_table(p, calibration=calibrate(p, use_cache=False)))
        assert r["fidelity_mean"] == pytest.approx(want["fidelity_mean"], abs=1e-14)
        assert r["angle_error_rms"] == pytest.approx(want["angle_error_rms"], abs=1e-14)
        assert r["profile_hash"] != doc["profile_hash"] or r["bits"] == 6
    # more bits -> smaller angle error (4-bit pi code 7 of 7.2, 5-bit 14 of 14.4: equal; 3-bit worse)
    assert doc["rows"][0]["angle_error_rms"] > doc["rows"][1]["angle_error_rms"]
    png = out / "tmp_gates_gates.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["png"] == str(png.resolve())
    # second run is served from the cache and gives the same numbers
    assert main(["gates", str(profile_path), "--bits", "3..5", "-o", str(out), "--json", "--set", "qubits.levels=2"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["rows"] == doc["rows"]


def test_text_table(profile_path, tmp_path, capsys):
    assert main(["gates", str(profile_path), "--bits", "4", "-o", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Realized gates" in text and "1-F" in text


def test_bad_input_exits_with_a_message(profile_path, tmp_path, capsys):
    assert main(["gates", str(profile_path), "--bits", "9..3", "-o", str(tmp_path)]) == 2
    assert "--bits" in capsys.readouterr().err
    assert main(["gates", str(profile_path), "--engine", "warp", "-o", str(tmp_path)]) == 2
    assert "engine" in capsys.readouterr().err
    assert main(["gates", str(profile_path), "--set", "pulse.shape=square", "-o", str(tmp_path)]) == 2
    assert "pulse.shape" in capsys.readouterr().err


def test_bits_sweep_on_a_segmented_shipped_profile(tmp_path, monkeypatch, capsys):
    """cryo_cmos_6bit has 3 unary MSBs: sweeping to 2 bits scales them (1 unary MSB) instead of failing."""
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    rc = main(["gates", "cryo_cmos_6bit", "--bits", "2..3", "--set", "qubits.count=1", "-o", str(tmp_path), "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["bits"] for r in rows] == [2, 3]
    assert rows[0]["infidelity_mean"] > rows[1]["infidelity_mean"]  # 2 bits is far worse than 3


def test_too_large_a_table_is_refused_before_allocating(tmp_path, monkeypatch, capsys):
    """24 bits x 4 qubits of 9 x 9 channels is 174 GB: one line naming the memory, exit 2, no traceback,
    and nothing is calibrated or built first (even for the smaller resolutions before it)."""
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CRYOCTL_MEMORY_LIMIT_GB", "16")

    def must_not_build(*a, **k):
        raise AssertionError("a table was built before the memory check")

    monkeypatch.setattr(gates_cmd, "load_or_build", must_not_build)
    capsys.readouterr()
    assert main(["gates", "cryo_cmos_6bit", "--bits", "24", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "memory" in err and "196 GB" in err and "24-bit" in err
    assert main(["gates", "cryo_cmos_6bit", "--bits", "3..24", "-o", str(tmp_path)]) == 2
    assert "21-bit" in capsys.readouterr().err  # the first resolution that does not fit, before any build


def test_plan_note_before_a_long_build(profile_path, monkeypatch):
    """notify(plan) is called for tables that are built, not for those read from the cache; the note is
    the plan's one-line description with its estimate."""
    seen = []
    gates_cmd.gates_sweep(str(profile_path), ["qubits.levels=2"], [3, 4], notify=seen.append)
    assert [p.bits for p in seen] == [3, 4] and all(p.method == "levels" or p.method == "unitary" for p in seen)
    again = []
    gates_cmd.gates_sweep(str(profile_path), ["qubits.levels=2"], [3, 4], notify=again.append)
    assert again == []  # cached
    note = gates_cmd.plan_note(seen[0], measure=False)
    assert note.startswith("building ") and "\n" not in note and "codes" in note and "memory" in note
    plan = gates_cmd.sweep_plans("cryo_cmos_6bit", None, [6])[0][2]
    assert (plan.method, plan.noise_rank) == ("levels", 2)


def test_slow_engine_prints_a_note_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    p = tmp_path / "q.yaml"
    p.write_text("name: q\ndac:\n  bits: 2\nqubits:\n  count: 1\n  levels: 2\n")
    capsys.readouterr()
    assert main(["gates", str(p), "--engine", "qutip", "-o", str(tmp_path), "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["engine"] == "qutip"  # stdout stays one JSON document
    assert "2 channels x 4 codes x 40 samples" in cap.err and "engine qutip" in cap.err
    assert "method unitary" in cap.err and "--engine fast" in cap.err
    assert main(["gates", str(p), "-o", str(tmp_path), "--json"]) == 0
    assert "building" not in capsys.readouterr().err  # a short fast build needs no note


def test_progress_per_qubit_axis_then_per_table(profile_path):
    calls = []
    gates_cmd.gates_sweep(str(profile_path), ["qubits.levels=2"], [3, 4], progress=lambda *a: calls.append(a))
    per_table = [(n, k, 4) for n in (3, 4) for k in (1, 2, 3, 4, 4)]  # 2 qubits x 2 axes, then "table done"
    assert calls == per_table
    calls.clear()  # second sweep comes from the cache: only the per-table calls
    gates_cmd.gates_sweep(str(profile_path), ["qubits.levels=2"], [3, 4], progress=lambda *a: calls.append(a))
    assert calls == [(3, 4, 4), (4, 4, 4)]


def test_compact_codes():
    assert gates_cmd.compact_codes([[28, 29], [29, 28]]) == "28-29"
    assert gates_cmd.compact_codes([[7, 7]]) == "7"
    assert gates_cmd.compact_codes([[4000000, 4000010], [4000002, 4000004]]) == "~4000003"


def test_table_fits_80_columns_without_ellipsis(profile_path, capsys):
    assert main(["gates", str(profile_path), "--bits", "2..4", "--json", "-o", str(profile_path.parent)]) == 0
    doc = json.loads(capsys.readouterr().out)
    worst = dict(doc["rows"][0], bits=24, pi_codes=[[4194301, 4194310], [4194302, 4194303]],
                 pi_error_rad=[-3.14159, -3.14159], fidelity_mean=0.0, fidelity_min=0.0, fidelity_pi=0.0,
                 leakage_max=0.999, angle_error_rms=3.14159)
    doc["rows"].append(worst)
    con = Console(width=80, record=True, file=open("/dev/null", "w"))
    con.print(gates_cmd._table(doc))
    text = con.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "~4194302" in text and "-3141.6" in text and "3141.6" in text
    assert "1-F avg" in text and "rms err" in text


def test_representative_bits_and_angle_scale():
    assert gates_cmd.representative_bits([2, 3, 4, 5, 6, 7, 8, 9, 10]) == [2, 6, 10]
    assert gates_cmd.representative_bits([5, 6]) == [5, 6]
    assert gates_cmd.representative_bits([4]) == [4]
    assert gates_cmd.angle_axis_scale([np.array([3.0, -5.0]), np.array([40.0])]) == ("linear", None)
    assert gates_cmd.angle_axis_scale([np.array([2500.0]), np.array([-40.0, 3.0])]) == ("symlog", 100.0)


def test_plot_shows_three_widths_and_the_floor(profile_path, tmp_path, monkeypatch):
    figs = []
    monkeypatch.setattr(gates_cmd, "save_figure", lambda fig, path: figs.append(fig))
    res = gates_cmd.gates_sweep(str(profile_path), ["qubits.levels=2", "qubits.t1_us=20", "qubits.t2_us=15"],
                                [2, 3, 4, 5])
    gates_cmd.plot_sweep(res, tmp_path / "x.png")
    (fig,) = figs
    infid_ax, _, rms_ax, code_ax = fig.axes
    floor = [ln for ln in infid_ax.get_lines() if ln.get_label().startswith("T1/T2 floor (idle, pulse duration")]
    assert len(floor) == 1 and floor[0].get_ydata()[0] == pytest.approx(res["idle_floor_infidelity"])
    assert [ln.get_label() for ln in code_ax.get_lines() if "bit" in ln.get_label()] == ["2 bit", "4 bit", "5 bit"]
    assert "nominal = code x pi / pi_code" in code_ax.get_title()
    assert "nearest measured angle" in rms_ax.get_title()


def test_flux_profile_adds_the_cz_rows(tmp_path, monkeypatch, capsys):
    """A profile with a flux line and couplings gets its two-qubit row: the realized CZ of every coupled pair."""
    from cryoctl.gates.cz import realize_cz_point

    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    flux = ("flux={dac: {bits: 14}, full_scale_phi0: 0.25, qubits: [{index: 0, f_max_ghz: 6.0}, "
            "{index: 1, f_max_ghz: 5.0, asymmetry: 1.0}]}")
    sets = ["qubits.count=2", "couplings=[{qubits: [0, 1], j_mhz: 10.0}]", flux]
    args = ["gates", "ideal", "--bits", "4", "-o", str(tmp_path), *sum((["--set", s] for s in sets), [])]
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["cz"]
    want = realize_cz_point(load_profile("ideal", sets), (0, 1)).summary()
    assert [r["qubits"] for r in rows] == [[0, 1]]
    assert rows[0]["infidelity"] == pytest.approx(want["infidelity"], abs=1e-12) and rows[0]["infidelity"] < 1e-3
    assert main(args) == 0
    assert "Two-qubit gates: CZ through the 14-bit flux DAC" in capsys.readouterr().out
    assert main(["gates", "ideal", "--bits", "4", "-o", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cz"] == []  # no flux line: no two-qubit row
