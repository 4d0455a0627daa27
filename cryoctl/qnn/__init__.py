"""QNN layer: datasets, angle-encoded models, gradients, float / quantized / stochastic trainers, inference."""

from cryoctl.qnn.data import DATASETS, Dataset, load_dataset, read_idx
from cryoctl.qnn.gradients import finite_difference, loss_and_grad
from cryoctl.qnn.hardware import hardware_executor
from cryoctl.qnn.inference import accuracy_vs_bits, evaluate, evaluate_angles
from cryoctl.qnn.models import ANSATZE, QNNModel, build_circuit
from cryoctl.qnn.serialize import load_model, model_document, model_params, save_model
from cryoctl.qnn.train import TrainConfig, TrainResult, accuracy, code_moves, move_probability, train

__all__ = [
    "ANSATZE", "DATASETS", "Dataset", "QNNModel", "TrainConfig", "TrainResult", "accuracy", "accuracy_vs_bits",
    "build_circuit", "code_moves", "evaluate", "evaluate_angles", "finite_difference", "hardware_executor", "load_dataset",
    "load_model", "loss_and_grad", "model_document", "model_params", "move_probability", "read_idx", "save_model",
    "train",
]
