"""The optional `sfq` profile section and the shipped SFQ profiles (hw_profiles/sfq_*.yaml)."""

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile import HardwareProfile, SfqSpec, load_profile, profile_hash, profile_json_schema
from cryoctl.profile.loader import SHIPPED_DIR

H, E, HBAR = 6.62607015e-34, 1.602176634e-19, 6.62607015e-34 / (2 * np.pi)


@pytest.mark.parametrize("name", ["sfq_ersfq", "sfq_rsfq"])
def test_shipped_sfq_profiles_load_and_cite_sources(name):
    p = load_profile(name)
    assert p.name == name and p.description and p.sfq is not None and p.flux is None
    text = (SHIPPED_DIR / "sfq_ersfq.yaml").read_text()
    for source in ("McDermott & Vavilov", "Leonard", "Mukhanov", "Holmes", "Li, McDermott"):
        assert source in text
    assert p.sfq.cost.family == name.removeprefix("sfq_")
    assert p.sfq.qubit_ghz() == pytest.approx(5.0)


def test_tip_angle_from_the_capacitances():
    """dtheta = C_c Phi_0 sqrt(2 omega_01 / (hbar C_q)) with Phi_0 = h / 2e: 150 aF, 65 fF, 5 GHz -> 0.0297 rad;
    it scales linearly with C_c and as sqrt(f_01)."""
    sfq = load_profile("sfq_ersfq").sfq
    phi0 = H / (2 * E)
    expect = 150e-18 * phi0 * np.sqrt(2 * 2 * np.pi * 5e9 / (HBAR * 65e-15))
    assert sfq.tip_angle() == pytest.approx(expect, rel=1e-9)
    assert sfq.tip_angle() == pytest.approx(0.0297, abs=5e-5)
    assert sfq.tip_angle(20.0) == pytest.approx(2 * sfq.tip_angle(5.0), rel=1e-12)
    assert SfqSpec(tip_angle_rad=0.02).tip_angle(7.0) == 0.02


def test_sfq_section_is_optional_and_keeps_existing_hashes():
    base = load_profile("cryo_cmos_6bit")
    dump = base.model_dump(mode="json")
    assert base.sfq is None and "sfq" not in dump
    # adding the field changed nothing for profiles without it: the dump validates back to the same hash
    assert profile_hash(HardwareProfile.model_validate(dump)) == profile_hash(base)
    with_sfq = load_profile("cryo_cmos_6bit", ["sfq={tip_angle_rad: 0.03}"])
    assert with_sfq.sfq.tip_angle() == 0.03 and profile_hash(with_sfq) != profile_hash(base)
    assert "SfqSpec" in profile_json_schema()["$defs"]
    assert profile_hash(load_profile("sfq_rsfq")) != profile_hash(load_profile("sfq_ersfq"))


@pytest.mark.parametrize("override,field", [
    ("sfq={clock_ghz: 20.0}", "sfq"),                                                     # no tip angle at all
    ("sfq={tip_angle_rad: 0.03, coupling_capacitance_af: 100, qubit_capacitance_ff: 65}", "sfq"),  # both forms
    ("sfq={tip_angle_rad: 0.03, pulse_width_ps: 30.0}", "sfq"),                            # pulse not short
    ("sfq={tip_angle_rad: 0.03, jitter_rms_ps: -1}", "sfq.jitter_rms_ps"),
    ("sfq={tip_angle_rad: 0.03, cost: {family: cmos}}", "sfq.cost.family"),
    ("sfq={tip_angle_rad: 0.03, clock_ghz: '20'}", "sfq.clock_ghz"),
])
def test_bad_sfq_sections_are_user_errors_naming_the_field(override, field):
    with pytest.raises(CryoctlError) as e:
        load_profile("ideal", [override])
    assert field in str(e.value.field)
