"""`cryoctl profile ...` through cryoctl.cli.main (exit code + captured stdout/stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryoctl.cli import main
from cryoctl.profile import load_profile, profile_hash, profile_json_schema, shipped_profiles


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())  # rich wraps stderr at the console width


def assert_user_error(code, out, err, *needles):
    assert code != 0
    assert err.startswith("error:") and "Traceback" not in err and "Traceback" not in out
    for n in needles:
        assert n in err, f"{n!r} not in stderr: {err}"


def test_show_prints_the_resolved_tree_and_hash(capsys):
    code, out, err = run(capsys, "profile", "show", "cryo_cmos_6bit")
    assert code == 0 and err == ""
    assert profile_hash(load_profile("cryo_cmos_6bit")) in out
    for text in ("dac", "bits = 6", "unary_msbs = 3", "temperature_k = 4.0", "cost", "readout"):
        assert text in out


def test_show_json_with_overrides(capsys):
    code, out, _ = run(capsys, "profile", "show", "cryo_cmos_6bit", "--set", "dac.bits=5", "-s", "qubits.t1_us=70",
                       "--json")
    assert code == 0
    doc = json.loads(out)
    expected = load_profile("cryo_cmos_6bit", ["dac.bits=5", "qubits.t1_us=70"])
    assert doc["hash"] == profile_hash(expected) != profile_hash(load_profile("cryo_cmos_6bit"))
    assert doc["profile"] == expected.model_dump(mode="json")
    assert doc["overrides"] == ["dac.bits=5", "qubits.t1_us=70"]
    assert Path(doc["source"]).name == "cryo_cmos_6bit.yaml"


def test_show_summarises_long_inl_tables(capsys, tmp_path):
    (tmp_path / "inl.csv").write_text("\n".join("0.1" for _ in range(64)))
    p = tmp_path / "p.yaml"
    p.write_text("name: p\ndac: {bits: 6, inl_table_csv: inl.csv}\n")
    code, out, _ = run(capsys, "profile", "show", str(p))
    assert code == 0 and "<64 values, sha" in out
    code, out, _ = run(capsys, "profile", "show", str(p), "--json")
    assert json.loads(out)["profile"]["dac"]["inl_table_lsb"] == [0.1] * 64  # --json keeps the data


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_show_bad_profile_prints_error_without_traceback(capsys, tmp_path, json_flag):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndac: {bits: 30, sample_rate_gsps: -1}\n")
    code, out, err = run(capsys, "profile", "show", str(bad), *json_flag)
    assert_user_error(code, out, err, "bad.yaml", "dac.bits", "less than or equal to 24", "dac.sample_rate_gsps")
    assert out == ""


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["profile", "show", "nope"], ["nope", "no such file or shipped profile"]),
        (["profile", "show", "ideal", "--set", "dac.bits"], ["--set", "expected key.path=value"]),
        (["profile", "show", "ideal", "--set", "=3"], ["--set", "empty key"]),
        (["profile", "show", "ideal", "--set", "dac.bits=[1,"], ["--set dac.bits", "not a plain YAML value"]),
        (["profile", "show", "ideal", "--set", "dac.bits=abc"], ["dac.bits", "expected a number"]),
        (["profile", "show", "ideal", "--set", "name.x=1"], ["--set name", "not a section"]),
        (["profile", "show", "[/red]"], ["[/red]"]),
    ],
)
def test_user_errors_exit_nonzero(capsys, argv, needles):
    assert_user_error(*run(capsys, *argv), *needles)


def test_validate_all_shipped(capsys):
    refs = [str(p) for p in shipped_profiles()]
    code, out, err = run(capsys, "profile", "validate", *refs, "--json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert [r["ok"] for r in rows] == [True] * len(refs)
    assert [r["hash"] for r in rows] == [profile_hash(load_profile(r)) for r in refs]


def test_validate_reports_each_file_and_fails_if_any_fails(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndac: {bits: 6, colour: blue}\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    code, out, err = run(capsys, "profile", "validate", "ideal", str(bad), str(empty), "--json")
    assert_user_error(code, out, err, "2 of 3 profiles failed validation")
    rows = json.loads(out)  # stdout is still exactly one JSON document
    assert [r["ok"] for r in rows] == [True, False, False]
    assert "dac.colour" in rows[1]["error"] and "unknown key" in rows[1]["error"]
    assert "empty" in rows[2]["error"]
    code, out, err = run(capsys, "profile", "validate", "ideal", str(bad))  # table output
    assert code != 0 and "FAIL" in out and "ok" in out


def test_validate_applies_overrides(capsys):
    code, out, err = run(capsys, "profile", "validate", "ideal", "cryo_cmos_4bit", "--set", "dac.bits=0", "--json")
    assert code != 0 and not any(r["ok"] for r in json.loads(out))


def test_diff_lists_dotted_paths(capsys):
    code, out, _ = run(capsys, "profile", "diff", "cryo_cmos_6bit", "cryo_cmos_4bit", "--json")
    assert code == 0
    doc = json.loads(out)
    diffs = {d["path"]: (d["a"], d["b"]) for d in doc["differences"]}
    assert set(diffs) == {"name", "description", "dac.bits", "dac.unary_msbs"}
    assert diffs["dac.bits"] == (6, 4) and diffs["dac.unary_msbs"] == (3, 2)
    assert doc["same_hash"] is False
    code, out, _ = run(capsys, "profile", "diff", "cryo_cmos_6bit", "cryo_cmos_4bit")
    assert code == 0 and "dac.bits" in out and "4 field(s) differ" in " ".join(out.split())


def test_diff_with_overrides_and_whole_section_changes(capsys):
    code, out, _ = run(capsys, "profile", "diff", "cryo_cmos_6bit", "cryo_cmos_6bit", "--set-b", "name=copy", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["same_hash"] is True
    assert doc["differences"] == [{"path": "name", "a": "cryo_cmos_6bit", "b": "copy"}]
    code, out, _ = run(capsys, "profile", "diff", "ideal", "ideal", "--set-a",
                       "dac.reconstruction_filter={cutoff_ghz: 0.5}", "--json")
    [d] = json.loads(out)["differences"]
    assert d["path"] == "dac.reconstruction_filter" and d["b"] is None
    assert d["a"] == {"kind": "bessel", "order": 4, "cutoff_ghz": 0.5}
    code, out, _ = run(capsys, "profile", "diff", "ideal", "ideal")
    assert code == 0 and "identical" in out


def test_schema_to_stdout_and_file(capsys, tmp_path):
    code, out, _ = run(capsys, "profile", "schema")
    assert code == 0 and json.loads(out) == profile_json_schema()
    target = tmp_path / "profile.schema.json"
    code, out, _ = run(capsys, "profile", "schema", "-o", str(target))
    assert code == 0 and json.loads(target.read_text()) == profile_json_schema()
    code, out, err = run(capsys, "profile", "schema", "-o", str(tmp_path / "no" / "dir" / "x.json"))
    assert_user_error(code, out, err, "cannot write schema")


def test_list(capsys):
    code, out, _ = run(capsys, "profile", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["name"] for r in rows] == [p.stem for p in shipped_profiles()]
    assert {r["name"]: r["temperature_k"] for r in rows}["cryo_cmos_4bit"] == 4.0
    code, out, _ = run(capsys, "profile", "list")
    assert code == 0 and "rfsoc_14bit" in out
