"""The shipped default study: valid over every shipped profile, and a slice of it runs end to end."""

from pathlib import Path

import yaml

from cryoctl.profile import load_profile, shipped_profiles
from cryoctl.report import build_report
from cryoctl.study import expand_points, load_study_spec, parse_study_spec, run_study

SPEC = Path(__file__).resolve().parents[2] / "experiments" / "default_study.yaml"
CMOS_VS_SFQ = SPEC.with_name("cmos_vs_sfq.yaml")


def test_default_study_covers_the_shipped_profiles():
    spec = load_study_spec(SPEC)
    # every shipped XY-DAC profile; the flux-line variants have their own command (cz), the SFQ drivers their
    # command (sfq) and study (cmos_vs_sfq.yaml: this study sweeps dac.bits, which an SFQ driver does not have)
    xy = [p.stem for p in shipped_profiles() if load_profile(p).sfq is None and load_profile(p).flux is None]
    assert sorted(spec.profiles) == sorted(xy)
    pts = expand_points(spec)
    assert all(p.profile is not None for p in pts), [p.profile_error for p in pts if p.profile_error]
    kinds = {p.kind for p in pts}
    assert kinds == {"cost", "gates", "qnn_infer"}
    # the three cryo-CMOS profiles differ only in bits: swept over the same grid they are one hardware
    distinct_profiles = {p.profile_hash for p in pts}
    assert len(distinct_profiles) == 4 * 7
    assert len(pts) == 28 * (1 + 2 + 2 * 2)  # cost + gates x 2 seeds + two qnn_infer x 2 seeds


def test_default_study_slice_runs_and_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    doc = yaml.safe_load(SPEC.read_text())
    doc["grid"] = {"dac.bits,dac.unary_msbs": [[3, 2]]}  # one resolution, one seed: every task on every profile
    doc["seeds"] = [0]
    spec = parse_study_spec({**doc, "base_dir": str(SPEC.parent)})
    s = run_study(spec, tmp_path / "d.sqlite", workers=2, progress=False)
    assert (s.points, s.done, s.errors) == (16, 16, 0), s.error_messages
    rep = build_report(tmp_path / "d.sqlite", tmp_path / "out")
    assert all(rep["plots"].values()) and rep["quality"] == "accuracy"


def test_cmos_vs_sfq_study_covers_the_sfq_drivers_and_the_cryo_cmos_controllers():
    spec = load_study_spec(CMOS_VS_SFQ)
    sfq = sorted(p.stem for p in shipped_profiles() if load_profile(p).sfq is not None)
    assert sfq == ["sfq_ersfq", "sfq_rsfq"] and set(sfq) < set(spec.profiles)
    assert {"cryo_cmos_4bit", "cryo_cmos_6bit", "cryo_cmos_8bit"} < set(spec.profiles)
    assert not spec.grid  # every profile once, as shipped: an SFQ driver is one design, not one per DAC bits
    pts = expand_points(spec)
    assert all(p.profile is not None for p in pts), [p.profile_error for p in pts if p.profile_error]
    assert len({p.profile_hash for p in pts}) == 5
    assert {p.kind for p in pts} == {"cost", "gates", "qnn_infer"}
    assert len(pts) == 5 * (1 + 2 + 2 * 2)
