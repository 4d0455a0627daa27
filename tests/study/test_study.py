"""Studies: spec expansion, content keys, resumable SQLite store, error isolation, pool vs Dask."""

import json
import sqlite3
import time

import numpy as np
import pytest

from cryoctl.cli import main
from cryoctl.errors import CryoctlError
from cryoctl.study import (
    ResultStore,
    TaskParams,
    expand_points,
    grid_combinations,
    load_study_spec,
    parse_study_spec,
    register_task,
    run_study,
    study_status,
)


def _write_spec(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(store):
    with ResultStore(store, create=False) as st:
        return {r["key"]: r for r in st.rows()}


BASIC = """
name: basic
profiles: [cryo_cmos_6bit, ideal]
grid: {dac.bits: "3..5", dac.unit_mismatch_sigma: [0.0, 0.02]}
seeds: [0, 1]
tasks:
  - {kind: cost}
  - {kind: debug.echo, draws: 3}
"""


def test_grid_ranges_lists_scalars_and_zipped_keys():
    combos = grid_combinations({"dac.bits": "2..4", "dac.sample_rate_gsps": 2.0,
                                "dac.architecture,dac.unary_msbs": [["binary", 0], ["segmented", 1]]})
    assert len(combos) == 3 * 1 * 2
    assert combos[0] == {"dac.bits": 2, "dac.sample_rate_gsps": 2.0, "dac.architecture": "binary", "dac.unary_msbs": 0}
    assert [c["dac.bits"] for c in grid_combinations({"dac.bits": "2..8..3"})] == [2, 5, 8]
    assert grid_combinations({}) == [{}]
    with pytest.raises(CryoctlError, match=r"grid\.dac\.bits.*malformed range"):
        grid_combinations({"dac.bits": "2..x"})
    with pytest.raises(CryoctlError, match="empty range"):
        grid_combinations({"dac.bits": "8..2"})
    with pytest.raises(CryoctlError, match="zipped"):
        grid_combinations({"dac.bits,dac.unary_msbs": [[4, 1, 0]]})


def test_spec_errors_name_the_field(tmp_path):
    with pytest.raises(CryoctlError, match=r"profiles\[1\].*unknown profile 'no_such_chip'"):
        expand_points(load_study_spec(_write_spec(tmp_path, BASIC.replace("ideal", "no_such_chip"))))
    with pytest.raises(CryoctlError, match=r"grid/set key 'dac\.bitz'.*not a profile field"):
        parse_study_spec({"name": "x", "profiles": ["ideal"], "grid": {"dac.bitz": [1]}, "tasks": [{"kind": "cost"}]})
    with pytest.raises(CryoctlError, match=r"tasks\[0\]\.kind.*unknown task kind 'nope'"):
        parse_study_spec({"name": "x", "profiles": ["ideal"], "tasks": [{"kind": "nope"}]})
    with pytest.raises(CryoctlError, match=r"tasks\[0\]\.engin.*unknown parameter"):
        parse_study_spec({"name": "x", "profiles": ["ideal"], "tasks": [{"kind": "gates", "engin": "fast"}]})
    with pytest.raises(CryoctlError, match=r"seeds"):
        parse_study_spec({"name": "x", "profiles": ["ideal"], "seeds": [1, 1], "tasks": [{"kind": "cost"}]})
    with pytest.raises(CryoctlError, match=r": tasks: required field is missing"):
        parse_study_spec({"name": "x", "profiles": ["ideal"]})
    with pytest.raises(CryoctlError, match="not valid YAML"):
        load_study_spec(_write_spec(tmp_path, "name: [unclosed\n"))


def test_unknown_profile_fails_before_running_and_keeps_the_store(tmp_path, capsys):
    spec_path = _write_spec(tmp_path, BASIC)
    store = tmp_path / "u.sqlite"
    run_study(load_study_spec(spec_path), store, workers=0, progress=False)
    before = _rows(store)
    bad = _write_spec(tmp_path, BASIC.replace("[cryo_cmos_6bit, ideal]", "[cryo_cmos_6bit, ideal, no_such_chip]"), "bad.yaml")
    with pytest.raises(CryoctlError, match=r"bad.yaml: profiles\[2\].*unknown profile 'no_such_chip'"):
        run_study(load_study_spec(bad), store, workers=0, progress=False)
    assert _rows(store) == before
    assert main(["study", "run", str(bad), "--store", str(store)]) == 2
    assert "no_such_chip" in capsys.readouterr().err
    assert _rows(store) == before


def test_points_keys_are_content_hashes(tmp_path):
    spec = load_study_spec(_write_spec(tmp_path, BASIC))
    pts = expand_points(spec)
    # cost ignores the seed: 2 profiles x 6 combos; echo uses it: x 2 seeds
    assert sum(p.kind == "cost" for p in pts) == 12 and sum(p.kind == "debug.echo" for p in pts) == 24
    assert len({p.key for p in pts}) == len(pts) == 36
    assert [p.key for p in expand_points(spec)] == [p.key for p in pts]  # stable
    # defaults are filled in before hashing: an explicit default is the same point
    spec2 = load_study_spec(_write_spec(tmp_path, BASIC.replace("{kind: cost}", "{kind: cost, inl_yield: 0.997}"), "b.yaml"))
    assert {p.key for p in expand_points(spec2)} == {p.key for p in pts}
    # a profile given by path (relative to the spec file) with the same content has the same keys
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "ideal_copy.yaml").write_text("extends: ideal.yaml\nname: ideal\n")
    spec3 = load_study_spec(_write_spec(tmp_path, BASIC.replace(", ideal]", ", profiles/ideal_copy.yaml]"), "c.yaml"))
    assert {p.key for p in expand_points(spec3)} == {p.key for p in pts}
    # changing anything that matters changes the key
    spec4 = load_study_spec(_write_spec(tmp_path, BASIC.replace("draws: 3", "draws: 4"), "d.yaml"))
    assert len({p.key for p in expand_points(spec4)} & {p.key for p in pts}) == 12  # only the cost points


def test_run_stores_every_point_once_and_resumes(tmp_path):
    spec = load_study_spec(_write_spec(tmp_path, BASIC))
    store = tmp_path / "s.sqlite"
    s1 = run_study(spec, store, workers=2, progress=False)
    assert (s1.points, s1.done, s1.errors, s1.skipped, s1.backend) == (36, 36, 0, 0, "process-pool")
    rows = _rows(store)
    assert set(rows) == {p.key for p in expand_points(spec)}
    # results are the real computations: cost matches cost_report, echo the seeded generator
    from cryoctl.cost import cost_report
    from cryoctl.profile import load_profile

    for r in rows.values():
        prof = load_profile(r["profile"] if r["profile"] == "ideal" else "cryo_cmos_6bit", r["spec"]["overrides"])
        if r["kind"] == "cost":
            assert r["result"] == cost_report(prof)
        else:
            assert r["result"]["draws"] == np.random.default_rng(r["seed"]).standard_normal(3).tolist()
            assert r["result"]["bits"] == prof.dac.bits
    s2 = run_study(spec, store, workers=2, progress=False)
    assert (s2.skipped, s2.done, s2.errors) == (36, 0, 0)
    assert _rows(store) == rows  # nothing recomputed or rewritten
    st = study_status(spec, store)
    assert (st["done"], st["error"], st["pending"]) == (36, 0, 0)


def test_inline_pool_identical_and_registered_kind(tmp_path):
    class Poly(TaskParams):
        kind: str = "test.poly"
        power: int = 2

    register_task("test.poly", lambda prof, params, seed: {"v": prof.dac.bits ** params["power"] + seed}, Poly)
    spec_text = "name: p\nprofiles: [ideal]\ngrid: {dac.bits: '2..7'}\nseeds: [0, 5]\ntasks: [{kind: test.poly, power: 3}]\n"
    spec = load_study_spec(_write_spec(tmp_path, spec_text))
    run_study(spec, tmp_path / "a.sqlite", workers=0, progress=False)
    run_study(spec, tmp_path / "b.sqlite", workers=2, progress=False)
    a, b = _rows(tmp_path / "a.sqlite"), _rows(tmp_path / "b.sqlite")
    assert {k: r["result"] for k, r in a.items()} == {k: r["result"] for k, r in b.items()}
    assert sorted(r["result"]["v"] for r in a.values()) == sorted(n**3 + s for n in range(2, 8) for s in (0, 5))


def test_task_error_is_stored_others_unaffected_then_retried(tmp_path, capsys):
    text = """
name: failing
profiles: [ideal]
grid: {dac.bits: "3..6"}
tasks:
  - {kind: cost}
  - {kind: debug.fail, bits: [4, 6], message: "boom at this resolution"}
"""
    spec_path = _write_spec(tmp_path, text)
    spec = load_study_spec(spec_path)
    store = tmp_path / "f.sqlite"
    s = run_study(spec, store, workers=2, progress=False)
    assert (s.points, s.done, s.errors) == (8, 6, 2)
    rows = _rows(store)
    bad = [r for r in rows.values() if r["status"] == "error"]
    assert sorted(r["spec"]["profile"]["dac"]["bits"] for r in bad) == [4, 6]
    assert all("RuntimeError: boom at this resolution" in r["error"] for r in bad)
    assert all(r["result"] is None and r["kind"] == "debug.fail" for r in bad)
    # status lists them (CLI too, with a JSON document)
    assert main(["study", "status", str(spec_path), "--store", str(store), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["done"], st["error"], st["pending"]) == (6, 2, 0)
    assert {e["key"] for e in st["errors"]} == {r["key"] for r in bad}
    # re-run retries only the errored points; finished rows are untouched
    done_before = {k: r for k, r in rows.items() if r["status"] == "done"}
    s2 = run_study(spec, store, workers=0, progress=False)
    assert (s2.skipped, s2.errors) == (6, 2)
    after = _rows(store)
    assert all(after[k] == r for k, r in done_before.items())
    assert all(after[r["key"]]["attempts"] == 2 for r in bad)


def test_invalid_grid_point_is_an_error_row_not_a_crash(tmp_path):
    # cryo_cmos_6bit is segmented with 3 unary MSBs: 2 bits cannot hold them
    spec = load_study_spec(_write_spec(tmp_path, "name: g\nprofiles: [cryo_cmos_6bit]\ngrid: {dac.bits: '2..4'}\ntasks: [{kind: cost}]\n"))
    s = run_study(spec, tmp_path / "g.sqlite", workers=0, progress=False)
    assert (s.done, s.errors) == (2, 1)
    (err,) = [r for r in _rows(tmp_path / "g.sqlite").values() if r["status"] == "error"]
    assert "unary_msbs" in err["error"] and err["spec"]["overrides"] == {"dac.bits": 2}


def test_corrupted_store_is_refused_and_left_untouched(tmp_path):
    spec = load_study_spec(_write_spec(tmp_path, BASIC))
    garbage = tmp_path / "garbage.sqlite"
    blob = np.random.default_rng(3).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    garbage.write_bytes(blob)
    with pytest.raises(CryoctlError, match="garbage.sqlite.*not a SQLite result store"):
        run_study(spec, garbage, workers=0, progress=False)
    assert garbage.read_bytes() == blob
    with pytest.raises(CryoctlError, match="not a SQLite result store"):
        study_status(spec, garbage)
    # a real store whose pages were damaged after the header: refused, bytes unchanged
    good = tmp_path / "good.sqlite"
    run_study(spec, good, workers=0, progress=False)
    with sqlite3.connect(good) as c:  # fold the WAL into the main file so that the damage hits real pages
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(good.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page + 0 : page + 200] = b"\xff" * 200  # second page: b-tree header destroyed
    good.write_bytes(bytes(data))
    with pytest.raises(CryoctlError, match="good.sqlite.*(corrupt|malformed)"):
        run_study(spec, good, workers=0, progress=False)
    assert good.read_bytes() == bytes(data)
    # some other SQLite database is not mistaken for a store
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(CryoctlError, match="not a cryoctl result store"):
        run_study(spec, other, workers=0, progress=False)


def test_locked_store_gives_a_clear_error_not_a_hang(tmp_path):
    spec = load_study_spec(_write_spec(tmp_path, BASIC))
    store = tmp_path / "l.sqlite"
    first = load_study_spec(_write_spec(tmp_path, BASIC.replace('"3..5"', '"3..3"'), "first.yaml"))
    run_study(first, store, workers=0, progress=False)
    before = _rows(store)
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    other.execute("DELETE FROM meta WHERE k = 'nothing'")
    try:
        t0 = time.monotonic()
        with pytest.raises(CryoctlError, match="l.sqlite.*locked by another process"):
            run_study(spec, store, workers=0, progress=False, busy_timeout_s=0.3)
        assert time.monotonic() - t0 < 60  # a generous bound: it must give up, not wait forever
    finally:
        other.execute("ROLLBACK")
        other.close()
    s = run_study(spec, store, workers=0, progress=False)
    assert s.skipped == len(before) and s.done == 36 - len(before)
    after = _rows(store)
    assert all(after[k] == r for k, r in before.items())


def test_cli_study_run_json_and_exit_status(tmp_path, capsys):
    spec_path = _write_spec(tmp_path, "name: cli\nprofiles: [cryo_cmos_4bit]\ntasks: [{kind: cost}, {kind: debug.fail}]\n")
    assert main(["study", "run", str(spec_path), "--workers", "0", "--json"]) == 2  # one point errored
    cap = capsys.readouterr()
    assert "1 errored and 0 lost of 2 points" in " ".join(cap.err.split())
    out = json.loads(cap.out)
    assert (out["points"], out["done"], out["errors"]) == (2, 1, 1)
    assert out["store"] == str(tmp_path / "cli.sqlite") and (tmp_path / "cli.sqlite").exists()
    assert main(["study", "run", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_store_never_overwrites_a_finished_point(tmp_path):
    row = {"key": "k1", "study": "s", "kind": "cost", "profile": "p", "seed": None, "spec": {"a": 1},
           "result": '{"x": 1}', "status": "done", "error": None, "started_at": 0.0, "finished_at": 1.0,
           "elapsed_s": 1.0, "worker": "w"}
    with ResultStore(tmp_path / "s.sqlite") as st:
        st.put({**row, "key": "k2", "status": "error", "result": None, "error": "first"})
        st.put(row)
        st.put({**row, "status": "error", "result": None, "error": "late duplicate"})  # e.g. a concurrent run
        st.put({**row, "key": "k2", "result": '{"x": 2}'})  # an errored point that now succeeded
        rows = {r["key"]: r for r in st.rows()}
    assert rows["k1"]["status"] == "done" and rows["k1"]["result"] == {"x": 1} and rows["k1"]["attempts"] == 1
    assert rows["k2"]["status"] == "done" and rows["k2"]["result"] == {"x": 2} and rows["k2"]["attempts"] == 2


def test_interrupt_says_what_is_stored_and_how_to_resume(tmp_path):
    """Ctrl-C mid-study: the points finished so far stay stored, and the message says how to resume."""
    class Stop(TaskParams):
        kind: str = "test.stop"

    def stop_at_seed_2(prof, params, seed):
        if seed == 2:
            raise KeyboardInterrupt  # what a Ctrl-C does inside the running task
        return {"seed": seed}

    register_task("test.stop", stop_at_seed_2, Stop)
    spec_path = _write_spec(tmp_path, "name: stop\nprofiles: [cryo_cmos_4bit]\nseeds: [0, 1, 2, 3]\ntasks: [{kind: test.stop}]\n")
    store = tmp_path / "stop.sqlite"
    with pytest.raises(KeyboardInterrupt, match=r"2 of 4 points are stored in .*stop\.sqlite; run the same command"):
        run_study(load_study_spec(spec_path), store, workers=0, progress=False)
    with ResultStore(store, create=False) as st:
        assert sorted(r["seed"] for r in st.rows()) == [0, 1]


def test_parts_run_into_one_store_and_are_checked_before_anything_runs(tmp_path, capsys):
    sub = tmp_path / "more"
    sub.mkdir()
    _write_spec(sub, "name: p2\nprofiles: [cryo_cmos_4bit]\ntasks: [{kind: debug.echo, draws: 2}]\nseeds: [0, 1]\n"
                "parts: [../p3.yaml]\n", "p2.yaml")
    _write_spec(tmp_path, "name: p3\nprofiles: [ideal]\ntasks: [{kind: cost}]\nparts: [top.yaml]\n", "p3.yaml")
    top = _write_spec(tmp_path, "name: top\nprofiles: [cryo_cmos_4bit]\ntasks: [{kind: cost}]\n"
                      "parts: [more/p2.yaml, p3.yaml]\n", "top.yaml")
    # top -> p2 -> p3 -> top is a cycle: refused before the store exists
    assert main(["study", "run", str(top), "--workers", "0"]) == 2
    assert "cycle" in capsys.readouterr().err and not (tmp_path / "top.sqlite").exists()
    _write_spec(tmp_path, "name: p3\nprofiles: [ideal]\ntasks: [{kind: cost}]\n", "p3.yaml")
    assert main(["study", "run", str(top), "--workers", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # p3 is reached from p2 first (depth first) and run once
    assert [(p["study"], p["points"], p["done"]) for p in out["parts"]] == [("top", 1, 1), ("p2", 2, 2), ("p3", 1, 1)]
    rows = _rows(tmp_path / "top.sqlite")
    assert sorted(r["study"] for r in rows.values()) == ["p2", "p2", "p3", "top"]
    assert main(["study", "status", str(top), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert [(s["study"], s["done"], s["pending"]) for s in st["parts"]] == [("top", 1, 0), ("p2", 2, 0), ("p3", 1, 0)]
    assert main(["study", "run", str(top), "--workers", "0"]) == 0  # resumes: everything already done
    assert "3 parts, 4 points" in capsys.readouterr().out
    _write_spec(sub, "name: p2\nprofiles: [cryo_cmos_4bit]\ntasks: [{kind: cost}]\nparts: [nope.yaml]\n", "p2.yaml")
    assert main(["study", "run", str(top), "--workers", "0"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "parts[0]" in err and "nope.yaml" in err
