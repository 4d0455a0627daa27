"""`cryoctl gates` through cryoctl.cli.main: JSON rows match the library, PNG written, bad input."""

import json

import pytest

from cryoctl.cli import main
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
