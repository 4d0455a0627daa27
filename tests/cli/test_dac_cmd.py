"""`cryoctl dac characterize` through cryoctl.cli.main on temporary and shipped profiles."""

import json

import numpy as np
import pytest

from cryoctl.cli import main
from cryoctl.cli import dac_cmd
from cryoctl.dac import Dac, dnl, inl, sine_test
from cryoctl.profile import load_profile, shipped_profiles

PROFILE = """\
name: tmp seg/dac
dac:
  bits: 10
  architecture: segmented
  unary_msbs: 4
  unit_mismatch_sigma: 0.03
  mismatch_seed: 3
  noise_v_per_sqrt_hz: 2.0e-8
  sample_rate_gsps: 2.0
"""


@pytest.fixture()
def profile_path(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(PROFILE)
    return p


def _run_json(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_characterize_json_matches_library(profile_path, tmp_path, capsys):
    out = tmp_path / "plots"
    doc = _run_json(capsys, ["dac", "characterize", str(profile_path), "-o", str(out), "--json",
                             "--set", "dac.gain_error=0.01", "--channel", "2", "--seed", "5", "--n-fft", "4096"])
    png = out / "tmp_seg_dac_ch2_dac.png"  # name sanitised for the file system; channel != 0 in the name
    assert doc["png"] == str(png.resolve()) and png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    prof = load_profile(profile_path, ["dac.gain_error=0.01"])
    dac = Dac(prof.dac, channel=2)
    assert doc["bits"] == 10 and doc["architecture"] == "segmented" and doc["unary_msbs"] == 4
    assert doc["lsb_v"] == pytest.approx(1 / 512)
    assert doc["max_abs_dnl_lsb"] == pytest.approx(np.abs(dnl(dac.levels)).max(), rel=1e-12)
    assert doc["max_abs_inl_endpoint_lsb"] == pytest.approx(np.abs(inl(dac.levels)).max(), rel=1e-12)
    assert doc["max_abs_inl_bestfit_lsb"] == pytest.approx(np.abs(inl(dac.levels, "bestfit")).max(), rel=1e-12)
    ref = sine_test(dac, n_fft=4096, rng=np.random.default_rng(5))
    for key in ("snr_db", "sinad_db", "enob", "sfdr_db"):
        assert doc[key] == pytest.approx(getattr(ref, key), rel=1e-12)
    assert isinstance(doc["monotonic"], bool)
    # noise 20 nV/rtHz over 1 GHz = 0.63 mV = 0.32 LSB rms: ENOB a bit below 10
    assert 8.5 < doc["enob"] < 9.95
    # reproducible: the same command gives the same document
    again = _run_json(capsys, ["dac", "characterize", str(profile_path), "-o", str(out), "--json",
                               "--set", "dac.gain_error=0.01", "--channel", "2", "--seed", "5", "--n-fft", "4096"])
    assert again == doc


def test_characterize_table_output(profile_path, tmp_path, capsys):
    assert main(["dac", "characterize", str(profile_path), "-o", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for label in ("bits", "LSB", "architecture", "max |DNL|", "max |INL| endpoint", "max |INL| best fit",
                  "monotonic", "SNR", "SINAD", "ENOB", "SFDR"):
        assert label in text
    assert (tmp_path / "tmp_seg_dac_dac.png").is_file()


def test_characterize_user_errors(profile_path, tmp_path, capsys):
    assert main(["dac", "characterize", str(tmp_path / "missing.yaml"), "-o", str(tmp_path)]) == 2
    assert main(["dac", "characterize", str(profile_path), "--set", "dac.bits=0", "-o", str(tmp_path)]) == 2
    assert "dac.bits" in capsys.readouterr().err
    assert main(["dac", "characterize", str(profile_path), "--n-fft", "4", "-o", str(tmp_path)]) == 2
    assert "n_fft" in capsys.readouterr().err


def test_characterize_every_shipped_profile(tmp_path, capsys):
    profiles = shipped_profiles()
    assert profiles, "hw_profiles/ ships profiles"
    for path in profiles:
        doc = _run_json(capsys, ["dac", "characterize", str(path), "-o", str(tmp_path), "--json", "--n-fft", "4096"])
        assert (tmp_path / f"{load_profile(path).name}_dac.png").is_file()
        assert doc["png"].endswith("_dac.png")
        bits = doc["bits"]
        # real DACs: a few tenths of a bit to a few bits below nominal, never above (+ sampling noise)
        assert 0.5 * bits < doc["enob"] < bits + 0.1


def test_channel_out_of_range_is_a_user_error(tmp_path, capsys):
    """cryo_cmos_6bit: 4 qubits x (I, Q) = 8 channels, 0..7 valid."""
    for bad in ("99", "8", "-1"):
        assert main(["dac", "characterize", "cryo_cmos_6bit", "--channel", bad, "-o", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "--channel" in err and "0..7" in err
    assert not list(tmp_path.glob("*.png"))
    # the last valid channel works, and qubits.count sets the range
    doc = _run_json(capsys, ["dac", "characterize", "cryo_cmos_6bit", "--channel", "7", "-o", str(tmp_path),
                             "--json", "--n-fft", "1024"])
    assert doc["channel"] == 7 and doc["png"].endswith("cryo_cmos_6bit_ch7_dac.png")
    assert main(["dac", "characterize", "cryo_cmos_6bit", "--channel", "2", "--set", "qubits.count=1",
                 "-o", str(tmp_path)]) == 2
    assert "0..1" in capsys.readouterr().err


def test_channels_get_their_own_png(profile_path, tmp_path, capsys):
    for ch in (0, 1, 3):
        assert main(["dac", "characterize", str(profile_path), "--channel", str(ch), "-o", str(tmp_path),
                     "--json", "--n-fft", "1024"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["tmp_seg_dac_ch1_dac.png", "tmp_seg_dac_ch3_dac.png", "tmp_seg_dac_dac.png"]


def test_harmonic_orders_fold_like_the_sine_test():
    """Brute force: harmonic k of bin m aliases to |k m mod n| folded into [0, n/2]."""
    n, m = 64, 13
    got = dac_cmd.harmonic_orders(m, n, [n // 2 - 6, 14, 25])
    # 2*13=26, 3*13=39 -> 25, 4*13=52 -> 12, 5*13=65 -> 1, 6*13=78 -> 14, 7 -> 91-64=27 -> 27 ... 10*13=130-128=2
    assert got == {26: [2], 14: [6], 25: [3]}
    assert dac_cmd.harmonic_orders(3, 8, [2]) == {2: [2, 6, 10]}  # 6, 18 -> 2, 30 -> 6 -> 2: shared bin


def test_plot_labels_units_and_harmonic_numbers(profile_path, tmp_path, monkeypatch):
    figs = []
    monkeypatch.setattr(dac_cmd, "save_figure", lambda fig, path: figs.append(fig))
    prof = load_profile(profile_path)
    res = dac_cmd.characterize_dac(prof, channel=1, n_fft=2048)
    dac_cmd.plot_characterization(res, tmp_path / "x.png")
    (fig,) = figs
    inl_ax, spec_ax = fig.axes[1], fig.axes[3]
    labels = [t.get_text() for t in inl_ax.get_legend().get_texts()]
    assert len(labels) == 2 and all(lab.endswith(" LSB)") for lab in labels)
    sine = res["_arrays"]["sine"]
    want = dac_cmd.harmonic_orders(sine.cycles, sine.n_fft, sine.harmonic_bins)
    notes = sorted(a.get_text() for a in spec_ax.texts)
    assert notes == sorted(",".join(map(str, v)) for v in want.values())
    assert sum(len(v) for v in want.values()) == 9  # orders 2..10 each named once
