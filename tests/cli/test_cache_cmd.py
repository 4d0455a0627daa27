"""``cryoctl cache list|prune`` on a temporary cache directory."""

import json
import os
import time

import pytest

from cryoctl.cli import main
from cryoctl.gates import CODE_VERSION

KEY = "0123456789abcdef"


def _populate(d):
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "table": d / f"gates-{KEY}-fast-gh3-{CODE_VERSION}.npz",
        "cal": d / f"calibration-{KEY}-fast-{CODE_VERSION}.json",
        "old": d / f"gates-{'f' * 16}-qutip-s0-n32-g0.npz",
        "tmp": d / f".gates-{KEY}-fast-gh3-{CODE_VERSION}.npz.k2j3.tmp",
        "other": d / "README.txt",
    }
    for i, p in enumerate(files.values()):
        p.write_bytes(b"x" * (100 * (i + 1)))
    stamp = time.time() - 3 * 86400
    for name in ("cal", "tmp"):
        os.utime(files[name], (stamp, stamp))
    return files


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_list_json_shows_kind_key_engine_size_age_version_and_stale(tmp_path, capsys):
    f = _populate(tmp_path / "c")
    doc = _json(capsys, ["cache", "list", "--cache-dir", str(tmp_path / "c"), "--json"])
    assert doc["cache_dir"] == str(tmp_path / "c") and doc["code_version"] == CODE_VERSION
    rows = {r["file"]: r for r in doc["entries"]}
    assert set(rows) == {f[k].name for k in ("table", "cal", "old", "tmp")}  # README.txt is not the cache's
    t = rows[f["table"].name]
    assert (t["kind"], t["key"], t["engine"], t["size_bytes"], t["code_version"], t["stale"]) == (
        "table", KEY, "fast", 100, CODE_VERSION, False)
    assert t["age_days"] == pytest.approx(0.0, abs=0.01)
    c = rows[f["cal"].name]
    assert c["kind"] == "calibration" and c["size_bytes"] == 200 and c["age_days"] == pytest.approx(3.0, abs=0.01)
    o = rows[f["old"].name]
    assert o["engine"] == "qutip" and o["code_version"] == "g0" and o["stale"]
    assert rows[f["tmp"].name]["kind"] == "temp" and rows[f["tmp"].name]["stale"]
    assert doc["total_bytes"] == 100 + 200 + 300 + 400


def test_list_uses_the_environment_and_prints_a_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "env"))
    _populate(tmp_path / "env")
    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert KEY in out and "calibration" in out and "4 entries" in out and "2 stale" in out
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "empty"))
    doc = _json(capsys, ["cache", "list", "--json"])
    assert doc["entries"] == [] and not (tmp_path / "empty").exists()  # listing creates nothing


def test_prune_default_dry_run_older_than_and_all(tmp_path, capsys):
    d = tmp_path / "c"
    f = _populate(d)
    doc = _json(capsys, ["cache", "prune", "--cache-dir", str(d), "--dry-run", "--json"])
    assert doc["dry_run"] and {r["file"] for r in doc["entries"]} == {f["old"].name, f["tmp"].name}
    assert all(p.exists() for p in f.values())
    doc = _json(capsys, ["cache", "prune", "--cache-dir", str(d), "--json"])
    assert {r["file"] for r in doc["entries"]} == {f["old"].name, f["tmp"].name} and doc["total_bytes"] == 300 + 400
    assert not f["old"].exists() and not f["tmp"].exists() and f["table"].exists() and f["cal"].exists()
    assert main(["cache", "prune", "--cache-dir", str(d), "--older-than", "2"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert not f["cal"].exists() and f["table"].exists()
    assert main(["cache", "prune", "--cache-dir", str(d), "--all"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert sorted(p.name for p in d.iterdir()) == ["README.txt"]


@pytest.mark.parametrize("argv, needle", [
    (["cache", "prune", "--older-than", "-1"], "--older-than"),
    (["cache", "prune", "--older-than", "nan"], "--older-than"),
    (["cache", "list", "--cache-dir", "FILE"], "expected the cache directory"),
])
def test_cache_errors_are_one_line_exit_2(tmp_path, capsys, argv, needle):
    afile = tmp_path / "afile"
    afile.write_text("x")
    argv = [str(afile) if a == "FILE" else a for a in argv] + ["--cache-dir", str(tmp_path / "c")] * ("FILE" not in argv)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
