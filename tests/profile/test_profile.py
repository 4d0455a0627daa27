"""Profile layer: shipped profiles, extends/overrides/CSV resolution, hash identity, JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile import (
    SHIPPED_DIR,
    HardwareProfile,
    apply_overrides,
    deep_merge,
    load_profile,
    parse_override,
    profile_hash,
    profile_json_schema,
    resolve_profile_path,
    shipped_profiles,
    validate_profile,
)

REQUIRED = ["ideal", "awg_16bit_rt", "rfsoc_14bit", "cryo_cmos_8bit", "cryo_cmos_6bit", "cryo_cmos_4bit"]
SFQ = ["sfq_ersfq", "sfq_rsfq"]
FLUX = ["awg_16bit_rt_flux", "cryo_cmos_6bit_flux", "rfsoc_14bit_flux"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# shipped profiles


def test_required_profiles_are_shipped_and_bases_are_not_listed():
    names = [p.stem for p in shipped_profiles()]
    assert set(REQUIRED) <= set(names)
    # the rest are the control-technology variants: SFQ drivers, and XY profiles with a flux line
    assert sorted(set(names) - set(REQUIRED)) == sorted(SFQ + FLUX)
    assert (SHIPPED_DIR / "_cryo_cmos_base.yaml").is_file()
    assert all(not n.startswith("_") for n in names)


@pytest.mark.parametrize("name", REQUIRED)
def test_shipped_profile_loads_with_its_name_and_cites_sources(name):
    p = load_profile(name)
    assert p.name == name and p.description
    # Defaults every engineer codes against (task brief): 4 qubits, 3 levels, 40 ns Gaussian, sigma 10 ns.
    assert (p.qubits.count, p.qubits.levels) == (4, 3)
    assert (p.pulse.shape, p.pulse.duration_ns, p.pulse.sigma_ns) == ("gaussian", 40.0, 10.0)
    # A 40 ns pulse is a whole number of DAC samples at every shipped sample rate (40, 96, 256, 80).
    n = p.pulse.duration_ns * p.dac.sample_rate_gsps
    assert abs(n - round(n)) < 1e-9 and 40 <= round(n) <= 400
    text = resolve_profile_path(name).read_text()
    assert text.lstrip().startswith("#"), "shipped profiles document their numbers in comments"


def test_ideal_is_the_infinite_precision_reference():
    p = load_profile("ideal")
    d = p.dac
    assert d.bits == 16 and d.unit_mismatch_sigma == 0 and d.noise_v_per_sqrt_hz == 0 and d.jitter_rms_ps == 0
    assert d.gain_error == 0 and d.offset_v == 0 and d.inl_table_lsb is None
    assert p.qubits.t1_us is None and p.qubits.t2_us is None and p.qubits.cz_error == 0
    assert (p.readout.p01, p.readout.p10, p.readout.shots) == (0.0, 0.0, None)
    # Half an LSB relative to full scale: 2^-16 = 1.53e-5 (the "~1.5e-5" of the comment in ideal.yaml).
    assert d.lsb_v / d.full_scale_v / 2 == pytest.approx(1.5259e-5, rel=1e-4)
    assert d.code_min == -32768 and d.code_max == 32767
    # DESIGN.md physics reference point: 40 ns Gaussian at 1 GS/s.
    assert d.sample_rate_gsps == 1.0


@pytest.mark.parametrize(
    "name, bits, gsps, kelvin",
    [("awg_16bit_rt", 16, 2.4, 300), ("rfsoc_14bit", 14, 6.4, 300), ("cryo_cmos_8bit", 8, 2.0, 4),
     ("cryo_cmos_6bit", 6, 2.0, 4), ("cryo_cmos_4bit", 4, 2.0, 4)],
)
def test_nonideal_profiles_are_plausible(name, bits, gsps, kelvin):
    p = load_profile(name)
    assert (p.dac.bits, p.dac.sample_rate_gsps, p.cost.temperature_k) == (bits, gsps, kelvin)
    assert p.dac.unit_mismatch_sigma > 0 and p.dac.noise_v_per_sqrt_hz > 0 and p.dac.jitter_rms_ps > 0
    assert p.pulse.amplitude_mode == "sampled"  # AWGs and waveform DACs quantize every sample
    assert 10 <= p.qubits.t1_us <= 200 and p.qubits.t2_us <= 2 * p.qubits.t1_us
    assert 0.005 <= p.readout.p01 <= 0.03 and 0.005 <= p.readout.p10 <= 0.05
    # Per-qubit power P = channels * (fom * 2^N * f_s + static), DESIGN.md.
    per_qubit_w = p.cost.channels_per_qubit * (
        p.cost.fom_fj_per_step * 1e-15 * 2**bits * gsps * 1e9 + p.cost.static_power_mw * 1e-3
    )
    if kelvin == 4:
        # Published cryo-CMOS: < 2 mW/qubit (Bardin 2019) ... 23 mW/qubit (Frank 2022); 4 K stage ~1.5 W.
        assert 0.5e-3 < per_qubit_w < 23e-3 and p.cost.stage_budget_w == 1.5
        assert p.dac.architecture == "segmented" and 1 <= p.dac.unary_msbs < bits
    else:
        assert 0.1 < per_qubit_w < 10  # room-temperature DAC chips: ~0.1-1 W per channel


def test_cryo_profiles_differ_only_in_resolution():
    """The 8/6/4-bit cryo profiles are one chip family: only bits (and their segmentation) change."""
    dumps = {b: load_profile(f"cryo_cmos_{b}bit").model_dump() for b in (8, 6, 4)}
    for b in (6, 4):
        diff = {k for k in dumps[8]["dac"] if dumps[8]["dac"][k] != dumps[b]["dac"][k]}
        assert diff == {"bits", "unary_msbs"}
        for section in ("pulse", "qubits", "readout", "cost"):
            assert dumps[8][section] == dumps[b][section]


def test_room_temperature_and_cryo_profiles_drive_the_same_qubits():
    chips = {n: load_profile(n).qubits for n in REQUIRED if n != "ideal"}
    assert len(set(chips.values())) == 1


# --------------------------------------------------------------------------------------------------
# resolution, extends, overrides, CSV


def test_load_by_name_and_by_path_agree(tmp_path):
    by_name = load_profile("cryo_cmos_6bit")
    by_path = load_profile(SHIPPED_DIR / "cryo_cmos_6bit.yaml")
    by_str_path = load_profile(str(SHIPPED_DIR / "cryo_cmos_6bit.yaml"))
    by_file_name = load_profile("cryo_cmos_6bit.yaml")
    assert by_name == by_path == by_str_path == by_file_name
    assert isinstance(by_name, HardwareProfile)


def test_deep_merge_merges_mappings_and_replaces_everything_else():
    base = {"dac": {"bits": 8, "reconstruction_filter": {"kind": "bessel", "cutoff_ghz": 1.0}}, "x": [1, 2]}
    over = {"dac": {"reconstruction_filter": {"cutoff_ghz": 2.0}}, "x": [3]}
    merged = deep_merge(base, over)
    assert merged == {"dac": {"bits": 8, "reconstruction_filter": {"kind": "bessel", "cutoff_ghz": 2.0}}, "x": [3]}
    assert base["dac"]["reconstruction_filter"]["cutoff_ghz"] == 1.0  # inputs untouched


def test_extends_chain_deep_merges_relative_to_each_file(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "_grand.yaml",
          "dac: {bits: 10, full_scale_v: 0.5, reconstruction_filter: {kind: butterworth, order: 3, cutoff_ghz: 1.5}}\n"
          "qubits: {t1_us: 30.0}\n")
    write(tmp_path / "_parent.yaml", "extends: sub/_grand.yaml\ndac: {bits: 9, reconstruction_filter: {order: 5}}\n")
    child = write(tmp_path / "child.yaml", "name: child\nextends: _parent.yaml\ndac: {sample_rate_gsps: 3.0}\n")
    p = load_profile(child)
    assert (p.dac.bits, p.dac.full_scale_v, p.dac.sample_rate_gsps) == (9, 0.5, 3.0)
    f = p.dac.reconstruction_filter
    assert (f.kind, f.order, f.cutoff_ghz) == ("butterworth", 5, 1.5)
    assert p.qubits.t1_us == 30.0


def test_user_profile_can_extend_a_shipped_profile_by_name(tmp_path):
    mine = write(tmp_path / "mine.yaml", "extends: cryo_cmos_6bit\nname: mine\ndac: {unit_mismatch_sigma: 0.05}\n")
    p, ref = load_profile(mine), load_profile("cryo_cmos_6bit")
    assert p.dac.unit_mismatch_sigma == 0.05
    assert p.model_dump(exclude={"name", "dac"}) == ref.model_dump(exclude={"name", "dac"})
    assert p.dac.model_dump(exclude={"unit_mismatch_sigma"}) == ref.dac.model_dump(exclude={"unit_mismatch_sigma"})


def test_overrides_from_list_mapping_and_single_string_agree():
    a = load_profile("cryo_cmos_8bit", ["dac.bits=5", "dac.unary_msbs=2", "readout.shots=1000"])
    b = load_profile("cryo_cmos_8bit", {"dac.bits": 5, "dac.unary_msbs": 2, "readout.shots": 1000})
    assert a == b and (a.dac.bits, a.dac.unary_msbs, a.readout.shots) == (5, 2, 1000)
    c = load_profile("cryo_cmos_8bit", "qubits.t1_us=80")  # not iterated character by character
    assert c.qubits.t1_us == 80.0


def test_override_values_are_parsed_as_yaml():
    assert parse_override("dac.bits=6") == (["dac", "bits"], 6)
    assert parse_override(" qubits.t1_us = null") == (["qubits", "t1_us"], None)
    assert parse_override("pulse.shape=drag") == (["pulse", "shape"], "drag")
    assert parse_override("dac.reconstruction_filter={kind: bessel, cutoff_ghz: 0.5}")[1] == {
        "kind": "bessel", "cutoff_ghz": 0.5}
    assert parse_override("name=a=b") == (["name"], "a=b")  # only the first '=' splits


def test_override_can_replace_and_create_sections():
    doc = apply_overrides({"name": "x", "dac": {"bits": 4}}, ["dac.reconstruction_filter.cutoff_ghz=0.4"])
    assert doc["dac"]["reconstruction_filter"] == {"cutoff_ghz": 0.4}
    p = validate_profile(doc)
    assert p.dac.reconstruction_filter.cutoff_ghz == 0.4 and p.dac.reconstruction_filter.kind == "bessel"


def test_inl_table_csv_is_resolved_relative_to_the_yaml(tmp_path):
    (tmp_path / "data").mkdir()
    inl = [0.0, 0.25, -0.5, 0.125, 0.0, -0.25, 0.5, 0.0]
    rows = "\n".join(f"{c},{v}" for c, v in zip(range(-4, 4), inl))
    write(tmp_path / "data" / "inl.csv", f"# measured INL, 3-bit chip\ncode,inl_lsb\n{rows}\n")
    prof = write(tmp_path / "p.yaml", "name: p\ndac: {bits: 3, inl_table_csv: data/inl.csv}\n")
    p = load_profile(prof)
    assert p.dac.inl_table_lsb == tuple(inl)
    # single-column CSV: one value per line
    write(tmp_path / "data" / "one.csv", "\n".join(map(str, inl)) + "\n")
    write(prof, "name: p\ndac: {bits: 3, inl_table_csv: data/one.csv}\n")
    assert load_profile(prof).dac.inl_table_lsb == tuple(inl)


def test_inl_csv_in_a_base_is_resolved_relative_to_the_base(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "inl.csv", "\n".join(["0.5"] * 4))
    write(tmp_path / "base" / "_b.yaml", "dac: {bits: 2, inl_table_csv: inl.csv}\n")
    child = write(tmp_path / "c.yaml", "name: c\nextends: base/_b.yaml\n")
    assert load_profile(child).dac.inl_table_lsb == (0.5,) * 4


# --------------------------------------------------------------------------------------------------
# hash identity


def test_hash_is_stable_across_loads_and_processes():
    h = [profile_hash(load_profile("cryo_cmos_6bit")) for _ in range(3)]
    assert len(set(h)) == 1 and len(h[0]) == 16
    code = "from cryoctl.profile import load_profile, profile_hash; print(profile_hash(load_profile('cryo_cmos_6bit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == h[0]


def test_hash_ignores_name_description_key_order_and_number_spelling(tmp_path):
    a = write(tmp_path / "a.yaml", "name: a\ndescription: one\ndac: {bits: 6, full_scale_v: 1, mismatch_seed: 3}\n")
    b = write(tmp_path / "b.yaml", "dac:\n  mismatch_seed: 3\n  full_scale_v: 1.0\n  bits: 6.0\nname: b\n")
    pa, pb = load_profile(a), load_profile(b)
    assert pa != pb and profile_hash(pa) == profile_hash(pb)
    assert profile_hash(load_profile("cryo_cmos_6bit", ["name=renamed", "description=x"])) == profile_hash(
        load_profile("cryo_cmos_6bit"))


@pytest.mark.parametrize("override", ["dac.mismatch_seed=2", "dac.bits=7", "qubits.t1_us=51", "readout.shots=10",
                                      "cost.temperature_k=3", "pulse.phase_bits=11", "dac.offset_v=0.0001000001"])
def test_any_content_change_changes_the_hash(override):
    assert profile_hash(load_profile("cryo_cmos_6bit", [override])) != profile_hash(load_profile("cryo_cmos_6bit"))


def test_all_shipped_hashes_differ():
    hashes = {profile_hash(load_profile(n)) for n in REQUIRED}
    assert len(hashes) == len(REQUIRED)


def test_profile_is_frozen():
    p = load_profile("ideal")
    with pytest.raises(Exception):
        p.dac.bits = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# JSON Schema


def _schema_fields(schema: dict, model: type) -> dict:
    if model is HardwareProfile:
        return schema["properties"]
    return schema["$defs"][model.__name__]["properties"]


def test_json_schema_matches_the_models():
    from cryoctl.profile import CostSpec, DacSpec, PulseSpec, QubitSpec, ReadoutSpec, ReconstructionFilter

    schema = profile_json_schema()
    json.dumps(schema)  # serialisable
    assert schema["$schema"].endswith("2020-12/schema") and schema["required"] == ["name", "dac"]
    file_only = {HardwareProfile: {"extends"}, DacSpec: {"inl_table_csv"}}
    for model in (HardwareProfile, DacSpec, PulseSpec, QubitSpec, ReadoutSpec, CostSpec, ReconstructionFilter):
        assert set(_schema_fields(schema, model)) == set(model.model_fields) | file_only.get(model, set())
        if model is not HardwareProfile:
            assert schema["$defs"][model.__name__]["additionalProperties"] is False
    bits = schema["$defs"]["DacSpec"]["properties"]["bits"]
    assert (bits["type"], bits["minimum"], bits["maximum"]) == ("integer", 1, 24)
    assert schema["$defs"]["DacSpec"]["properties"]["sample_rate_gsps"]["exclusiveMinimum"] == 0
    assert schema["$defs"]["CostSpec"]["properties"]["temperature_k"]["exclusiveMinimum"] == 0


def test_shipped_profiles_conform_to_the_schema_types():
    """Every resolved value of every shipped profile has a type the schema allows (mini-validator)."""
    schema = profile_json_schema()
    pytypes = {"integer": int, "number": (int, float), "string": str, "null": type(None), "array": list,
               "object": dict}

    def allowed(spec):
        if "$ref" in spec:
            return [schema["$defs"][spec["$ref"].split("/")[-1]]]
        if "anyOf" in spec:
            return [s for sub in spec["anyOf"] for s in allowed(sub)]
        return [spec]

    def check(value, spec, path):
        options = allowed(spec)
        ok = [o for o in options if "type" not in o or isinstance(value, pytypes[o["type"]])]
        assert ok, f"{path}: {value!r} not allowed by {options}"
        if isinstance(value, dict):
            props = ok[0]["properties"]
            for k, v in value.items():
                assert k in props, f"{path}.{k} not in schema"
                check(v, props[k], f"{path}.{k}")

    for name in REQUIRED:
        check(load_profile(name).model_dump(mode="json"), {"type": "object", "properties": schema["properties"]}, name)


def test_numeric_field_detection_covers_optional_and_constrained_types():
    from cryoctl.profile.models import _numeric

    assert _numeric(int) and _numeric(float) and _numeric(float | None) and _numeric(tuple[float, ...] | None)
    assert _numeric(typing.Annotated[float, "x"])
    assert not _numeric(str) and not _numeric(typing.Literal["a"]) and not _numeric(str | None)


def test_readme_example_profile_loads(tmp_path):
    """The user-profile example in hw_profiles/README.md works as documented."""
    text = (SHIPPED_DIR / "README.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    p = load_profile(write(tmp_path / "my_chip.yaml", block))
    assert p.name == "my_chip" and p.dac.bits == 6 and p.dac.unit_mismatch_sigma == 0.05 and p.dac.mismatch_seed == 7


def test_yaml_12_floats_are_numbers(tmp_path):
    """PyYAML's YAML 1.1 reads `1e-9` as a string; profiles and --set use the YAML 1.2 float rule."""
    from cryoctl.profile.yamlio import load_yaml

    assert load_yaml("a: 1e-9\nb: 2E9\nc: -3.5e+2\nd: '1e-9'\ne: 1_000\nf: .inf\ng: 7") == {
        "a": 1e-9, "b": 2e9, "c": -350.0, "d": "1e-9", "e": 1000, "f": float("inf"), "g": 7}
    path = tmp_path / "p.yaml"
    path.write_text("name: x\ndac: {bits: 6, noise_v_per_sqrt_hz: 1e-9, sample_rate_gsps: 2e0}\n")
    p = load_profile(path, ["dac.jitter_rms_ps=1e0", "qubits.t1_us=5e1"])
    assert (p.dac.noise_v_per_sqrt_hz, p.dac.sample_rate_gsps, p.dac.jitter_rms_ps, p.qubits.t1_us) == (1e-9, 2.0, 1.0, 50.0)


def test_bits_overrides_keep_the_segmented_share():
    """A resolution what-if on a segmented DAC keeps its unary share (6 bits / 3 unary -> 2/1, 10/5)."""
    from cryoctl.profile import bits_overrides

    p = load_profile("cryo_cmos_6bit")
    assert p.dac.architecture == "segmented" and (p.dac.bits, p.dac.unary_msbs) == (6, 3)
    for n, u in [(1, 1), (2, 1), (3, 2), (6, 3), (10, 5), (16, 8)]:
        q = load_profile("cryo_cmos_6bit", bits_overrides(p, n))
        assert (q.dac.bits, q.dac.unary_msbs) == (n, u)
    b = load_profile("ideal")
    assert bits_overrides(b, 4) == ["dac.bits=4"]  # binary: only the width changes
