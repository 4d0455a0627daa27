"""`cryoctl cz`: rows match the library, PNGs written, the floor onset, clear errors."""

import json

import pytest

from cryoctl.cli import main
from cryoctl.cli.cz_cmd import floor_onset, parse_pairs, plot_floors
from cryoctl.errors import CryoctlError
from cryoctl.gates.cz import flux_bits_overrides, realize_cz_point
from cryoctl.profile import load_profile

ONE_PAIR = ["--set", "couplings=[{qubits: [0, 1], j_mhz: 10.0}]"]
CLOSED = ["--set", "qubits.t1_us=null", "--set", "qubits.t2_us=null"]  # unitary gates: the fast path


def test_json_rows_match_the_library_and_pngs_are_written(tmp_path, capsys):
    out = tmp_path / "plots"
    capsys.readouterr()
    assert main(["cz", "cryo_cmos_6bit_flux", "--bits", "9..10", "--draws", "0", "-o", str(out), "--json", *ONE_PAIR, *CLOSED]) == 0
    doc = json.loads(capsys.readouterr().out)
    (res,) = doc["profiles"]
    assert res["profile"] == "cryo_cmos_6bit_flux" and res["pairs"] == ["0-1"]
    assert [r["flux_bits"] for r in res["rows"]] == [9, 10]
    sets = [ONE_PAIR[1], CLOSED[1], CLOSED[3]]
    base = load_profile("cryo_cmos_6bit_flux", sets)
    r = res["rows"][1]
    prof = load_profile("cryo_cmos_6bit_flux", [*sets, *flux_bits_overrides(base, 10)])
    assert prof.flux.dac.bits == 10 and prof.flux.dac.unary_msbs == 5  # the segmentation share (6 of 12) is kept
    want = realize_cz_point(prof, (0, 1), noise_draws=0).summary()
    for key in ("infidelity", "leakage", "cond_phase_error_rad", "gate_time_ns", "amplitude_code", "mhz_per_code"):
        assert r[key] == pytest.approx(want[key], rel=1e-12, abs=1e-15), key
    assert not r["open_system"] and r["noise_draws"] == 0
    assert r["infidelity"] == pytest.approx(r["coherent_infidelity"], abs=1e-12)  # no noise, no T1/T2
    # one more flux bit halves the code step (MHz per code) at the CZ point
    assert res["rows"][0]["mhz_per_code"] == pytest.approx(2 * res["rows"][1]["mhz_per_code"], rel=0.02)
    assert res["mean_infidelity_by_bits"]["9"] == pytest.approx(res["rows"][0]["infidelity"], rel=1e-12)
    png = out / "cryo_cmos_6bit_flux_cz.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["png"] == {"cryo_cmos_6bit_flux": str(png.resolve())}
    assert res["chevron"] == {"bits": 10, "pair": "0-1"}


def test_floor_onset_and_the_floor_plot(tmp_path):
    bits = [8, 9, 10, 11, 12]
    onset, floor = floor_onset(bits, [1e-1, 1e-2, 2.2e-3, 1.9e-3, 2.1e-3])
    assert (onset, floor) == (10, 1.9e-3)  # 2.2e-3 <= 1.25 x 1.9e-3, and so is everything above it
    assert floor_onset(bits, [1e-1, 1e-2, 5e-3, 3e-3, 1e-3]) == (None, 1e-3)  # still falling: no floor
    assert floor_onset(list(reversed(bits)), [2.1e-3, 1.9e-3, 2.2e-3, 1e-2, 1e-1]) == (10, 1.9e-3)  # order-free
    results = [{"profile": "a", "mean_infidelity_by_bits": dict(zip(bits, [1e-1, 1e-2, 2.2e-3, 1.9e-3, 2.1e-3])),
                "floor_infidelity": 1.9e-3, "floor_bits": 10},
               {"profile": "b", "mean_infidelity_by_bits": {8: 1e-2, 9: 5e-3}, "floor_infidelity": 5e-3, "floor_bits": None}]
    png = plot_floors(results, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pairs_are_parsed_against_the_couplings():
    p = load_profile("cryo_cmos_6bit_flux")
    assert parse_pairs(None, p) == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert parse_pairs(["1,0", " 2-3 "], p) == [(0, 1), (2, 3)]
    with pytest.raises(CryoctlError, match="not coupled") as e:
        parse_pairs(["0,2"], p)
    assert e.value.field == "--pair"
    with pytest.raises(CryoctlError, match="malformed"):
        parse_pairs(["0"], p)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["cryo_cmos_6bit"], "no flux section"),
        (["cryo_cmos_6bit_flux", "--set", "couplings=[]"], "no couplings"),
        (["cryo_cmos_6bit_flux", "--pair", "0,2"], "not coupled"),
        (["cryo_cmos_6bit_flux", "--bits", "30"], "--bits"),
        (["cryo_cmos_6bit_flux", "--draws", "-1"], "--draws"),
        (["cryo_cmos_6bit_flux", "--engine", "nope"], "--engine"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, needle, capsys):
    capsys.readouterr()
    assert main(["cz", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    if needle == "no flux section":  # the message lists the shipped profiles that have one
        assert "cryo_cmos_6bit_flux" in err and "awg_16bit_rt_flux" in err
