"""The same study on the local process pool and on a real local Dask cluster gives identical results."""

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.study import ResultStore, load_study_spec, run_study

distributed = pytest.importorskip("distributed")

SPEC = """
name: pool_vs_dask
profiles: [ideal, cryo_cmos_6bit]
set: {qubits.count: 1}
grid: {dac.bits: "3..5"}
seeds: [0, 1]
tasks:
  - {kind: cost}
  - {kind: debug.echo, draws: 5}
  - {kind: gates, engine: fast, n_noise_draws: 2}
"""


def _results(store):
    with ResultStore(store, create=False) as st:
        rows = st.rows()
    assert all(r["status"] == "done" for r in rows), [r["error"] for r in rows if r["error"]]
    return {r["key"]: r["result"] for r in rows}


def test_pool_and_dask_cluster_identical(tmp_path, monkeypatch):
    spec_path = tmp_path / "s.yaml"
    spec_path.write_text(SPEC)
    spec = load_study_spec(spec_path)

    # separate gate caches, so the Dask run really recomputes instead of reading the pool's tables
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache_pool"))
    s_pool = run_study(spec, tmp_path / "pool.sqlite", workers=2, progress=False)
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache_dask"))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        s_dask = run_study(spec, tmp_path / "dask.sqlite", scheduler=cluster.scheduler_address, progress=False)
    assert s_dask.backend.startswith("dask")
    assert (s_pool.points, s_pool.done) == (s_dask.points, s_dask.done) == (6 + 12 + 12, 30)
    assert (tmp_path / "cache_dask").is_dir()  # the Dask workers built their own tables

    pool, dask = _results(tmp_path / "pool.sqlite"), _results(tmp_path / "dask.sqlite")
    assert pool == dask  # same keys, bit-identical JSON results (floats round-trip exactly)
    gates = [v for v in pool.values() if "fidelity_mean" in v]
    assert len(gates) == 12 and all(0.9 < g["fidelity_mean"] <= 1.0 for g in gates)


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    spec_path = tmp_path / "s.yaml"
    spec_path.write_text("name: x\nprofiles: [ideal]\ntasks: [{kind: cost}]\n")
    with pytest.raises(CryoctlError, match="--scheduler.*cannot connect"):
        run_study(load_study_spec(spec_path), tmp_path / "x.sqlite", scheduler="tcp://127.0.0.1:9", progress=False,
                  scheduler_timeout_s=1.0)
