"""`cryoctl sfq` through cryoctl.cli.main: JSON = library sweep, the physics it shows, PNG, one-line errors."""

import json

import numpy as np
import pytest

from cryoctl.cli import main
from cryoctl.gates.metrics import rotation
from cryoctl.gates.sfq import SfqQubit, qubit_fidelity, resonant_leakage_estimate
from cryoctl.gates.sfq_sweep import at_clock, sfq_sweep
from cryoctl.profile import load_profile
from cryoctl.pulse.sfq import pack

ARGS = ["sfq", "sfq_ersfq", "--clocks", "2,4", "--extra", "0,4", "--jitter", "0,1,2", "--draws", "12",
        "--rounds", "120", "--seed", "5"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sfq")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*ARGS, "-o", str(out), "--json"]) == 0
    return json.loads(buf.getvalue()), out


def test_json_is_the_library_sweep_and_the_png_is_written(sweep):
    doc, out = sweep
    # one clock and one length of the sweep, alone, reproduce the sweep's numbers (seeds per clock and length)
    lib = sfq_sweep(load_profile("sfq_ersfq"), 0, [4], [4], [0.0, 1.0, 2.0], 12, 5, 120)
    assert [c["clock_per_qubit"] for c in doc["clocks"]] == [2, 4] and doc["clocks"][1]["clock_ghz"] == 20.0
    for c, want in zip(doc["clocks"][1:], lib["clocks"]):
        assert c["y90"][1] == want["y90"][0]
        assert c["best"]["bits"] == want["best"]["bits"]
        assert [j["infidelity"] for j in c["jitter"]] == [j["infidelity"] for j in want["jitter"]]
    png = out / "sfq_ersfq_sfq.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and doc["png"] == str(png.resolve())


def test_the_numbers_are_the_physics(sweep):
    doc, _ = sweep
    prof = load_profile("sfq_ersfq")
    sq = SfqQubit.from_profile(prof)
    assert doc["tip_angle_rad"] == pytest.approx(0.0297, abs=1e-4) and doc["qubit_ghz"] == 5.0
    for c in doc["clocks"]:
        q = at_clock(sq, c["clock_per_qubit"])
        # the best bitstream replayed through the kick-and-precess map gives the stored 1 - F
        bits = np.array(c["best"]["bits"], dtype=bool)
        assert pack(bits).tobytes().hex() == c["best"]["bits_hex"]
        assert 1 - qubit_fidelity(q.kp.gate(bits), rotation("y", np.pi / 2)) == pytest.approx(c["best"]["infidelity"],
                                                                                               rel=1e-9)
        # resonant Y(pi/2): 53 pulses, the same gate at every clock (kicks a whole qubit period apart), leakage
        # 2.3e-3 as the dressed perturbative estimate says (within 5 %)
        r = c["resonant_y90"]
        assert r["pulses"] == 53 and r["ticks"] == 52 * c["clock_per_qubit"] + 1
        assert r["infidelity"] == pytest.approx(2.74e-3, rel=0.01)
        assert r["leakage"] == pytest.approx(resonant_leakage_estimate(q.tip_angle, q.anharmonic_phase, 53), rel=0.05)
        # the resonant curve: k pulses against R_y(k dtheta), one entry per k up to pi
        assert len(c["resonant"]["pulses"]) == round(np.pi / q.tip_angle) == 106
        assert max(c["resonant"]["leakage"]) > 4e-3
        # jitter: 0 ps is the bare gate; more jitter, more error
        inf = [j["infidelity"] for j in c["jitter"]]
        assert inf[0] == pytest.approx(c["best"]["infidelity"], rel=1e-9) and inf[0] < inf[1] < inf[2]
    two, four = doc["clocks"]
    # at 2 ticks per period a pulse can only land in phase or in anti-phase: optimization gains ~5x at best;
    # at 4 ticks per period it beats the resonant train by > 100x (1 - F < 3e-5) with ~4 extra periods
    assert 2 < two["resonant_y90"]["infidelity"] / two["best"]["infidelity"] < 20
    assert four["best"]["infidelity"] < 1e-2 * four["resonant_y90"]["infidelity"]
    # 1 ps of jitter costs ~3e-5 on the optimized gate at 20 GHz; 2 ps about 3-5x that (sigma^2 at small sigma)
    d1 = four["jitter"][1]["infidelity"] - four["jitter"][0]["infidelity"]
    d2 = four["jitter"][2]["infidelity"] - four["jitter"][0]["infidelity"]
    assert 1e-5 < d1 < 1e-4 and 2.5 < d2 / d1 < 5.5


def test_table_output(tmp_path, capsys):
    assert main(["sfq", "sfq_rsfq", "--clocks", "4", "--extra", "2", "--jitter", "0", "--rounds", "20",
                 "-o", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "sfq_rsfq: clock 4 x f01 = 20 GHz" in text and "plot:" in text
    assert (tmp_path / "sfq_rsfq_sfq.png").is_file()


@pytest.mark.parametrize("extra, field", [
    (["--clocks", "2,x"], "--clocks"),
    (["--clocks", "1"], "--clocks"),
    (["--clocks", "4,4"], "--clocks"),
    (["--extra", "-1"], "--extra"),
    (["--jitter", "a"], "--jitter"),
    (["--draws", "0"], "--draws"),
    (["--qubit", "9"], "--qubit"),
    (["--clocks", "16", "--extra", "0"], "sfq.memory_bits"),
])
def test_bad_input_is_one_line_exit_2(extra, field, tmp_path, capsys):
    assert main(["sfq", "sfq_ersfq", "--rounds", "0", "-o", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}:"), err


def test_a_dac_profile_is_refused(tmp_path, capsys):
    assert main(["sfq", "cryo_cmos_6bit", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: sfq:") and "no sfq section" in err and len(err.splitlines()) == 1
