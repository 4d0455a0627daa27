"""`cryoctl rb` through cryoctl.cli.main: EPC per bits on cryo_cmos_6bit, JSON = library, PNG, bad input."""

import json

import numpy as np
import pytest

from cryoctl.circuit.rb import table_rb
from cryoctl.cli import main
from cryoctl.gates import load_or_build
from cryoctl.profile import bits_overrides, load_profile

ARGS = ["rb", "cryo_cmos_6bit", "--bits", "5..6", "--sequences", "6", "--lengths", "1,4,16,64,256,1024",
        "--seed", "3", "--set", "qubits.count=2", "--qubit", "1"]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))


def test_epc_per_bits_json_matches_library_and_png(cache, tmp_path, capsys):
    out = tmp_path / "plots"
    assert main([*ARGS, "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["bits"] for r in doc["rows"]] == [5, 6]
    assert doc["qubit"] == 1 and doc["lengths"] == [1, 4, 16, 64, 256, 1024]
    for r in doc["rows"]:
        base = load_profile("cryo_cmos_6bit", ["qubits.count=2"])
        prof = load_profile("cryo_cmos_6bit", ["qubits.count=2", *bits_overrides(base, r["bits"])])
        want = table_rb(load_or_build(prof, "fast", 3), 1, [1, 4, 16, 64, 256, 1024], 6, rng=np.random.default_rng(3))
        assert r["epc"] == want.epc and r["epc_err"] == want.epc_err
        assert r["clifford_infidelity"] == want.clifford_infidelity
        assert r["leakage_per_clifford"] == want.leak_fit.L1
        # the 4 K controller: T1/T2 and the DAC put r in the 1e-4..1e-3 decade, leakage far below it;
        # RB agrees with the realized Clifford set within its error bar at these resolutions
        assert 1e-4 < r["epc"] < 3e-3 and 0 < r["epc_err"] < 0.5 * r["epc"]
        assert abs(r["epc"] - r["clifford_infidelity"]) < 3 * r["epc_err"]
        assert 0 < r["leakage_per_clifford"] < 0.1 * r["epc"]
        assert r["native_words"]["x180"] != 0 and r["native_words"]["z90"] == 2 ** (prof.pulse.phase_bits - 2)
    png = out / "cryo_cmos_6bit_rb.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["png"] == str(png.resolve())


def test_table_prints_epc_per_bits(cache, tmp_path, capsys):
    assert main([*ARGS, "-o", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Randomized benchmarking: cryo_cmos_6bit, qubit 1" in text
    # the numbers through --json (a rich table's layout depends on the terminal width)
    assert main([*ARGS, "-o", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["bits"] for r in rows] == [5, 6]
    for r in rows:
        assert r["epc"] > 0 and r["clifford_infidelity"] > 0  # r (EPC) and 1-F of the Clifford set
        assert f"{r['epc']:.2e}"[:3] in text  # the printed table shows the same EPC


@pytest.mark.parametrize("extra, field", [
    (["--lengths", "1,2,x"], "--lengths"),
    (["--lengths", "1,2,4"], "--lengths"),
    (["--sequences", "1"], "--sequences"),
    (["--qubit", "7"], "--qubit"),
    (["--bits", "6..2"], "--bits"),
])
def test_user_errors_exit_2_with_one_line(cache, tmp_path, capsys, extra, field):
    base = ["rb", "cryo_cmos_6bit", "--bits", "5", "--sequences", "4", "-o", str(tmp_path)]
    assert main([*base, *extra]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
