"""Ansatz families for N qubits, CZs on the coupling map, N-qubit data encoding and readout."""

import numpy as np
import pytest

from cryoctl.circuit import CZ, ExactProvider, Executor, circuit_pairs
from cryoctl.errors import CryoctlError
from cryoctl.profile import load_profile
from cryoctl.qnn import QNNModel, load_dataset
from cryoctl.qnn.hardware import hardware_mode
from cryoctl.qnn.models import build_circuit, check_qubits, resolve_ansatz


@pytest.mark.parametrize("n", [2, 5, 8, 12])
def test_hea_families_count_2Ln_and_3Ln_angles_on_every_qubit(n):
    for layers in (1, 3):
        c = build_circuit(f"hea:{layers}", n)
        assert c.n_params == 2 * layers * n and c.n_inputs == n
        assert [g.qubit for g in c.param_gates()[: 2 * n: 2]] == list(range(n))  # index order: layer, qubit, axis
        assert c.param_axes[:2] == ("y", "z")
        assert build_circuit(f"hea3:{layers}", n).n_params == 3 * layers * n
        ring = [(q, (q + 1) % n) for q in range(n)] if n > 2 else [(0, 1)]
        assert circuit_pairs(c) == ring
        assert sum(isinstance(g, CZ) for g in c.gates) == layers * len(ring)


def test_seed_paper_names_are_the_hea_circuits_at_4_qubits():
    assert build_circuit("compact16", 4) == build_circuit("hea:2", 4) and build_circuit("compact16").n_params == 16
    assert build_circuit("deep48", 4) == build_circuit("hea3:4", 4) and build_circuit("deep48").n_params == 48
    # a profile's coupling map never rewires the named ansatze (exactly as before)
    assert resolve_ansatz("compact16", 4, [(0, 2)]) == "compact16"


def test_cz_pairs_follow_the_coupling_map():
    """A CZ only on coupled pairs, in the map's order and orientation; uncoupled qubits stay unentangled."""
    heavy = [(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (3, 7)]  # heavy-hex-like fragment, 8 qubits
    model = QNNModel.for_hardware("hea:3", 6, 4, couplings=heavy)  # qubits 0..5: (3,7), (5,6) drop out
    assert model.ansatz == "hea:3:0-1,1-2,2-3,3-4,1-5"
    c = model.circuit
    assert circuit_pairs(c) == [(0, 1), (1, 2), (2, 3), (3, 4), (1, 5)]
    assert model.n_params == 2 * 3 * 6  # parameters on every qubit, independent of the map
    assert [(g.a, g.b) for g in c.gates if isinstance(g, CZ)] == [(0, 1), (1, 2), (2, 3), (3, 4), (1, 5)] * 3
    # a profile's couplings: the flux ring profile (orientation (3, 0) kept as the profile gives it)
    prof = load_profile("cryo_cmos_6bit_flux")
    pairs = [tuple(cp.qubits) for cp in prof.couplings]
    m = QNNModel.for_hardware("hea:2", 4, 3, couplings=prof.couplings)
    assert circuit_pairs(m.circuit) == pairs and len(pairs) == 4
    # no couplings (the ideal CZ of a non-flux profile): the ring, name unchanged
    assert QNNModel.for_hardware("hea:2", 4, 3, couplings=load_profile("cryo_cmos_6bit").couplings).ansatz == "hea:2"
    # the name is the whole circuit: the explicit pairs rebuild the same gates
    assert QNNModel(model.ansatz, 6, 4).circuit == c
    # the realized flux CZ would need exactly these pairs: none outside the map
    assert all(frozenset(p) in {frozenset(h) for h in heavy} for p in circuit_pairs(c))
    # a map that couples none of the model's qubits leaves nothing to entangle with: an error
    with pytest.raises(CryoctlError) as e:
        QNNModel.for_hardware("hea:1", 3, 2, couplings=[(3, 4), (4, 5)])
    assert e.value.field == "couplings"


@pytest.mark.parametrize("bad", ["hea", "hea:0", "hea:x", "wide99", "hea:2:0-0", "hea:2:0-9", "hea:2:0-1,1-0",
                                 "hea:2:01", "hea:65"])
def test_bad_ansatz_names_are_one_error_naming_the_field(bad):
    with pytest.raises(CryoctlError) as e:
        build_circuit(bad, 4)
    assert e.value.field == "ansatz"


def test_qubit_range_and_readout_mapping():
    assert [check_qubits(n) for n in (2, 12)] == [2, 12]
    for bad in (1, 13, 4.0, True):
        with pytest.raises(CryoctlError):
            check_qubits(bad, "--qubits")
    m = QNNModel("hea:1", 8, 4)
    assert m.class_qubits.tolist() == [0, 1, 2, 3]  # class c read on qubit c, 4..7 are working space
    z = np.zeros((2, 8))
    z[0, 2] = 1.0  # <Z_2> = 1 on sample 0: class 2
    z[1, 7] = 1.0  # qubit 7 carries no class
    assert m.predict(z).tolist()[0] == 2 and m.logits(z).shape == (2, 4)
    assert m.logits(z)[1].tolist() == [0.0] * 4


def test_data_encoding_for_n_qubits_pca_or_zero_padding():
    d8 = load_dataset("digits", n_qubits=8, seed=0)
    d4 = load_dataset("digits", n_qubits=4, seed=0)
    assert d8.x_train.shape == (504, 8) and d8.n_classes == 4
    assert np.allclose(d8.x_train.min(axis=0), 0) and np.allclose(d8.x_train.max(axis=0), np.pi)
    ev4, ev8 = d4.meta["pca_explained_variance"], d8.meta["pca_explained_variance"]
    assert 0.45 < ev4 < ev8 < 0.7  # 48 % -> 64 % of the variance kept
    iris = load_dataset("iris", n_qubits=6, seed=0)  # 4 features on 6 qubits: qubits 4, 5 start in |0>
    assert iris.x_train.shape[1] == 6 and np.all(iris.x_train[:, 4:] == 0) and np.ptp(iris.x_train[:, 3]) > 3
    # a model on the padded qubits: padding at angle 0 leaves qubits 4, 5 in |0> before the ansatz
    ex = Executor(ExactProvider(2))
    c = build_circuit("hea:1", 6)
    z = ex.expect(c, iris.x_train[:3], np.zeros((1, c.n_params)))[0]
    assert np.allclose(z[:, 4:], 1.0) and np.allclose(z[:, 0], np.cos(iris.x_train[:3, 0]))
    with pytest.raises(CryoctlError):
        load_dataset("digits", n_qubits=3, seed=0)  # 4 classes on 3 qubits


def test_hardware_mode_is_known_before_any_table_is_built():
    assert hardware_mode(load_profile("cryo_cmos_6bit")) == ("density", 3)  # DAC noise, T1/T2, CZ error
    assert hardware_mode(load_profile("ideal")) == ("statevector", 3)
    unitary = load_profile("cryo_cmos_6bit", ["dac.noise_v_per_sqrt_hz=0", "dac.jitter_rms_ps=0", "qubits.t1_us=null",
                                              "qubits.t2_us=null", "qubits.cz_error=0"])
    assert hardware_mode(unitary) == ("statevector", 3)
    cz_only = load_profile("cryo_cmos_6bit", ["qubits.t1_us=null", "qubits.t2_us=null", "dac.noise_v_per_sqrt_hz=0",
                                              "dac.jitter_rms_ps=0"])
    assert hardware_mode(cz_only)[0] == "density"  # a unitary table, but the CZ error needs density matrices


def test_study_qnn_tasks_take_qubits_and_follow_the_coupling_map():
    from cryoctl.study.tasks import _qnn_model, get_task, validate_task

    params = validate_task({"kind": "qnn_train", "ansatz": "hea:1", "qubits": 5, "provider": "ideal", "epochs": 1,
                            "batch_size": 8, "max_train": 16, "max_test": 8, "dataset": "iris"})
    assert params["qubits"] == 5
    with pytest.raises(CryoctlError):
        validate_task({"kind": "qnn_train", "qubits": 13})
    with pytest.raises(CryoctlError):
        validate_task({"kind": "qnn_train", "ansatz": "hea:zero"})
    assert "qubits" not in validate_task({"kind": "qnn_train"})  # unset: the point key is unchanged
    prof = load_profile("cryo_cmos_6bit", ["qubits.count=6"])
    res = get_task("qnn_train").fn(prof, params, 0)
    assert res["bits"] == 6 and len(res["history"]) == 2 and 0 <= res["accuracy"] <= 1
    with pytest.raises(CryoctlError) as e:  # more model qubits than the chip has
        get_task("qnn_train").fn(load_profile("cryo_cmos_6bit"), params, 0)
    assert e.value.field == "qubits.count"
    ring = load_profile("cryo_cmos_6bit_flux")  # 4-qubit coupled ring: a 3-qubit model uses (0,1), (1,2)
    m = _qnn_model(ring, {**params, "qubits": 3})
    assert m.ansatz == "hea:1:0-1,1-2" and circuit_pairs(m.circuit) == [(0, 1), (1, 2)]
