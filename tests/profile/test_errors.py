"""Every user mistake in a profile is a CryoctlError whose message names the field (or file) and what was
expected; nothing else escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.profile import apply_overrides, load_profile, parse_override, validate_profile

OK = {"name": "x", "dac": {"bits": 6}}


def doc_with(section: str, key: str, value) -> dict:
    d = {"name": "x", "dac": {"bits": 6}}
    d.setdefault(section, {})[key] = value
    return d


def expect_error(fn, *args, names: list[str]) -> CryoctlError:
    with pytest.raises(CryoctlError) as info:
        fn(*args)
    msg = str(info.value)
    for n in names:
        assert n in msg, f"{n!r} not in error message:\n{msg}"
    assert "Traceback" not in msg
    return info.value


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_valid_minimal_document_passes():
    assert validate_profile(OK).dac.bits == 6


# --------------------------------------------------------------------------------------------------
# schema errors


@pytest.mark.parametrize(
    "doc, field",
    [
        ({**OK, "colour": "blue"}, "colour"),
        ({"name": "x", "dac": {"bits": 6, "bitz": 7}}, "dac.bitz"),
        ({**OK, "qubits": {"T1_us": 50}}, "qubits.T1_us"),
        ({**OK, "cost": {"temperature_k": 4, "power": 1}}, "cost.power"),
    ],
)
def test_unknown_keys_are_errors(doc, field):
    err = expect_error(validate_profile, doc, names=[field, "unknown key"])
    assert field in err.field


@pytest.mark.parametrize(
    "doc, field, expected",
    [
        (doc_with("dac", "bits", "six"), "dac.bits", "number"),
        (doc_with("dac", "bits", True), "dac.bits", "number"),
        (doc_with("dac", "bits", 6.5), "dac.bits", "integer"),
        (doc_with("dac", "bits", "6"), "dac.bits", "number"),
        (doc_with("dac", "full_scale_v", "1V"), "dac.full_scale_v", "number"),
        (doc_with("dac", "architecture", "flash"), "dac.architecture", "binary"),
        (doc_with("qubits", "count", [4]), "qubits.count", "integer"),
        (doc_with("readout", "shots", {"n": 3}), "readout.shots", "integer"),
        (doc_with("dac", "inl_table_lsb", "flat"), "dac.inl_table_lsb", "number"),
        (doc_with("dac", "offset_v", float("nan")), "dac.offset_v", "finite"),
        (doc_with("qubits", "t1_us", float("inf")), "qubits.t1_us", "finite"),
        ({"name": "x", "dac": [6]}, "dac", "DacSpec"),
        ({"name": 7, "dac": {"bits": 6}}, "name", "string"),
        ({"dac": {"bits": 6}}, "name", "missing"),
        ({"name": "x"}, "dac", "missing"),
    ],
)
def test_wrong_types_are_errors(doc, field, expected):
    err = expect_error(validate_profile, doc, "my.yaml", names=[field, expected])
    assert err.field == f"my.yaml: {field}"


@pytest.mark.parametrize("bits", [0, -1, 25, 64])
def test_bits_out_of_range(bits):
    expect_error(validate_profile, doc_with("dac", "bits", bits), names=["dac.bits", str(bits)])


@pytest.mark.parametrize("bits", [1, 24])
def test_bits_limits_are_inclusive(bits):
    doc = {"name": "x", "dac": {"bits": bits}}
    assert validate_profile(doc).dac.bits == bits


@pytest.mark.parametrize("value", [0, 0.0, -1e-3, -2.4])
@pytest.mark.parametrize(
    "section, key",
    [("dac", "sample_rate_gsps"), ("dac", "full_scale_v"), ("cost", "temperature_k"), ("qubits", "t1_us"),
     ("qubits", "t2_us"), ("cost", "stage_budget_w"), ("cost", "overdrive_v"), ("pulse", "duration_ns")],
)
def test_nonpositive_rates_voltages_temperatures_times(section, key, value):
    expect_error(validate_profile, doc_with(section, key, value), names=[f"{section}.{key}", "greater than 0"])


@pytest.mark.parametrize("section, key", [("dac", "noise_v_per_sqrt_hz"), ("dac", "jitter_rms_ps"),
                                          ("cost", "static_power_mw"), ("readout", "p01")])
def test_negative_noise_power_probability(section, key):
    expect_error(validate_profile, doc_with(section, key, -0.1), names=[f"{section}.{key}", "greater than or equal"])


@pytest.mark.parametrize(
    "dac, needle",
    [({"bits": 6, "architecture": "segmented"}, "unary_msbs"),
     ({"bits": 6, "architecture": "segmented", "unary_msbs": 7}, "unary_msbs"),
     ({"bits": 6, "unary_msbs": 2}, "segmented"),
     ({"bits": 2, "inl_table_lsb": [0, 0, 0]}, "expected 2^bits = 4")],
)
def test_inconsistent_dac_sections(dac, needle):
    expect_error(validate_profile, {"name": "x", "dac": dac}, names=["dac", needle])


def test_cross_field_checks_name_their_section():
    expect_error(validate_profile, doc_with("qubits", "anharmonicity_ghz", 0.0), names=["qubits", "anharmonic"])
    d = doc_with("qubits", "t1_us", 10.0)
    d["qubits"]["t2_us"] = 25.0
    expect_error(validate_profile, d, names=["qubits", "t2_us must be <= 2 * t1_us"])
    expect_error(validate_profile, {**OK, "pulse": {"sigma_ns": 50.0}}, names=["pulse", "sigma_ns"])


@pytest.mark.parametrize("doc", [None, [], [1, 2], "name: x", 42, 3.5, b"\x00"])
def test_non_mapping_documents(doc):
    expect_error(validate_profile, doc, names=["(top level)", "expected a mapping"])


def test_huge_values_are_reported_briefly():
    err = expect_error(validate_profile, doc_with("dac", "bits", list(range(100_000))), names=["dac.bits"])
    assert len(str(err)) < 400


# --------------------------------------------------------------------------------------------------
# file errors


def test_missing_profile_names_shipped_ones():
    expect_error(load_profile, "no_such_profile", names=["no_such_profile", "cryo_cmos_6bit"])


def test_missing_extends_file(tmp_path):
    p = write(tmp_path / "p.yaml", "name: p\nextends: _nowhere.yaml\ndac: {bits: 4}\n")
    err = expect_error(load_profile, p, names=["extends", "_nowhere.yaml", "not found"])
    assert str(p) in err.field


@pytest.mark.parametrize("value", ["42", "[a.yaml]", "''", "{x: 1}"])
def test_extends_must_be_a_file_name(tmp_path, value):
    p = write(tmp_path / "p.yaml", f"name: p\nextends: {value}\ndac: {{bits: 4}}\n")
    expect_error(load_profile, p, names=["extends", "expected a file name"])


def test_cyclic_extends(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\ndac: {bits: 4}\n")
    write(tmp_path / "b.yaml", "extends: c.yaml\n")
    write(tmp_path / "c.yaml", "extends: a.yaml\n")
    expect_error(load_profile, tmp_path / "a.yaml", names=["extends", "cyclic", "a.yaml -> b.yaml -> c.yaml -> a.yaml"])


def test_self_extends(tmp_path):
    p = write(tmp_path / "me.yaml", "extends: me.yaml\nname: me\ndac: {bits: 4}\n")
    expect_error(load_profile, p, names=["cyclic", "me.yaml -> me.yaml"])


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_file(tmp_path, text):
    p = write(tmp_path / "empty.yaml", text)
    expect_error(load_profile, p, names=[str(p), "empty"])


@pytest.mark.parametrize(
    "content, needle",
    [
        ("name: x\ndac: {bits: 4\n", "not valid YAML at line"),
        ("name: x\n  dac: bits\n    : 4\n", "not valid YAML"),
        ("\tname: x\n", "not valid YAML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "cannot read file"),
        (b"\xff\xfe\x00n\x00a", "cannot read file"),
        ("- 1\n- 2\n", "expected a YAML mapping at top level, got list"),
        ("just a sentence\n", "expected a YAML mapping at top level, got str"),
        ("? [1, 2]\n: 3\n", "not a plain YAML profile"),
    ],
)
def test_non_yaml_files(tmp_path, content, needle):
    p = write(tmp_path / "bad.yaml", content)
    err = expect_error(load_profile, p, names=[needle])
    assert err.field == str(p.resolve())


def test_python_object_tags_are_rejected_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    p = write(tmp_path / "evil.yaml", f"name: x\ndac: !!python/object/apply:os.system ['touch {marker}']\n")
    expect_error(load_profile, p, names=[str(p.resolve()), "python/object/apply:os.system", "never executed"])
    assert not marker.exists()
    p = write(tmp_path / "evil2.yaml", "!!python/name:os.system\n")
    expect_error(load_profile, p, names=["python/name:os.system"])


def test_self_referencing_alias_is_an_error(tmp_path):
    p = write(tmp_path / "alias.yaml", "name: x\ndac: &d {bits: 4, reconstruction_filter: *d}\n")
    expect_error(load_profile, p, names=["dac.reconstruction_filter"])


def test_deep_nesting_is_an_error(tmp_path):
    p = write(tmp_path / "deep.yaml", "[" * 3000)
    expect_error(load_profile, p, names=[str(p.resolve())])


@pytest.mark.parametrize(
    "csv_text, needle",
    [("1\n2\n3\n", "expected 2^bits = 4"), ("0\n0\nx\n0\n", "row 3: expected a number"),
     ("0\n0\nnan\n0\n", "finite")],
)
def test_bad_inl_csv(tmp_path, csv_text, needle):
    write(tmp_path / "inl.csv", csv_text)
    p = write(tmp_path / "p.yaml", "name: p\ndac: {bits: 2, inl_table_csv: inl.csv}\n")
    expect_error(load_profile, p, names=[needle])


def test_missing_or_doubled_inl_csv(tmp_path):
    p = write(tmp_path / "p.yaml", "name: p\ndac: {bits: 2, inl_table_csv: gone.csv}\n")
    expect_error(load_profile, p, names=["dac.inl_table_csv", "gone.csv"])
    write(tmp_path / "inl.csv", "0\n0\n0\n0\n")
    write(p, "name: p\ndac: {bits: 2, inl_table_csv: inl.csv, inl_table_lsb: [0, 0, 0, 0]}\n")
    expect_error(load_profile, p, names=["dac.inl_table_csv", "not both"])
    write(p, "name: p\ndac: {bits: 2, inl_table_csv: 3}\n")
    expect_error(load_profile, p, names=["dac.inl_table_csv", "CSV file name"])


def test_errors_in_a_base_name_the_base_file(tmp_path):
    write(tmp_path / "_base.yaml", "dac: {bits: 4\n")
    child = write(tmp_path / "child.yaml", "extends: _base.yaml\nname: c\n")
    expect_error(load_profile, child, names=["_base.yaml", "not valid YAML"])


# --------------------------------------------------------------------------------------------------
# overrides


@pytest.mark.parametrize(
    "item, needle",
    [
        ("dac.bits", "expected key.path=value"),
        ("", "expected key.path=value"),
        ("=5", "empty key"),
        ("dac..bits=5", "empty key"),
        (".bits=5", "empty key"),
        ("dac.=5", "empty key"),
        ("dac.bits=", "missing value"),
        ("dac.bits=   ", "missing value"),
        ("dac.bits=[1,", "not a plain YAML value"),
        ("dac.bits={a", "not a plain YAML value"),
        ("dac.bits=!!python/object/apply:os.system [ls]", "not a plain YAML value"),
    ],
)
def test_malformed_set(item, needle):
    err = expect_error(parse_override, item, names=["--set", needle])
    assert err.field.startswith("--set")
    expect_error(load_profile, "ideal", [item], names=["--set", needle])


@pytest.mark.parametrize("item, field", [("dac.bits=abc", "dac.bits"), ("dac.bits=0", "dac.bits"),
                                         ("qubits.t1_us=-5", "qubits.t1_us"), ("dac.bitz=4", "dac.bitz"),
                                         ("dac=7", "dac")])
def test_bad_override_values_are_caught_by_validation(item, field):
    err = expect_error(load_profile, "ideal", [item], names=[field])
    assert err.field == f"ideal.yaml with --set {item}: {field}"  # the override is named, not only the file


@pytest.mark.parametrize("item, where", [("name.first=x", "name"), ("dac.bits.lsb=3", "dac.bits"),
                                         ("qubits.count.x.y=1", "qubits.count")])
def test_override_of_a_non_section(item, where):
    err = expect_error(load_profile, "ideal", [item], names=[f"{where} is a value", "not a section"])
    assert err.field == f"--set {where}"


def test_bad_override_containers():
    expect_error(apply_overrides, OK, 42, names=["--set", "expected a list"])
    expect_error(apply_overrides, OK, {"": 1}, names=["--set", "empty key"])
    expect_error(apply_overrides, OK, {3: 1}, names=["--set", "key must be a string"])
    expect_error(apply_overrides, OK, [None], names=["--set", "expected key.path=value"])


@pytest.mark.parametrize("ref", [42, None, "", "   ", "x" * 5000, "a\x00b"])
def test_bad_profile_references(ref):
    with pytest.raises(CryoctlError):
        load_profile(ref)


@pytest.mark.parametrize("name", ["a\x00b.csv", "x" * 5000 + ".csv", "."])
def test_unopenable_inl_csv_names(tmp_path, name):
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\ndac: {{bits: 2, inl_table_csv: {name!r}}}\n".replace("'", '"').replace("\x00", "\\0"))
    expect_error(load_profile, p, names=["dac.inl_table_csv", "cannot read INL table"])


def test_typo_suggestion_and_one_line_for_one_problem(tmp_path):
    p = tmp_path / "typo.yaml"
    p.write_text("name: t\ndac: {bits: 6, sample_rate_gsp: 2.0}\n")
    err = expect_error(load_profile, p, names=["dac.sample_rate_gsp", "did you mean sample_rate_gsps?"])
    assert "\n" not in str(err) and err.field == "typo.yaml: dac.sample_rate_gsp"
