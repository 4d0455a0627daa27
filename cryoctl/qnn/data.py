"""Datasets for QNN classification, reduced to one rotation angle per qubit.

Sources (all offline): scikit-learn's bundled Iris (3 classes, 4 features), Breast Cancer Wisconsin
(2 classes, 30 features), 8x8 digits restricted to classes 0-3 (a stand-in for MNIST), two-moons
(``make_moons`` with the seed), and MNIST / Fashion-MNIST read from IDX files in a local directory
(``train-images-idx3-ubyte[.gz]`` etc., classes 0-3 by default).

Preprocessing, every statistic fitted on the TRAINING split only:
  1. seeded stratified train/test split (test_fraction, default 0.3; IDX data keep their own split);
  2. standardisation (zero mean, unit variance per feature);
  3. PCA down to ``n_qubits`` components (when there are more features than qubits; Iris has
     exactly 4, where PCA is a rotation of the standardised features);
  4. min-max scaling of each component into angles [0, pi] (test points may fall slightly outside;
     they are not clipped: rotation angles are periodic);
  5. with fewer features than qubits (Iris or two-moons on 5..12 qubits) the extra qubits get angle 0:
     they start in |0> and are working space of the ansatz.

Features -> qubits: one feature (principal component) per qubit, one RY each. PCA rather than data
re-uploading: every data gate is a DAC-coded rotation with its own realized error, and re-uploading F
features on n qubits needs ceil(F / n) encoding layers (digits: 64 features, 8 encoding layers on 8
qubits), multiplying data gates, circuit depth and decoherence time by the same factor and making the
circuit depend on the dataset; PCA keeps one encoding layer at any n and keeps most of the variance
(digits 0-3: 48 % at 4 components, 64 % at 8, 74 % at 12; ``meta["pca_explained_variance"]``).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cryoctl.errors import CryoctlError

DATASETS = ("iris", "breast_cancer", "digits", "moons", "mnist", "fashion_mnist")


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray  # (N_train, n_qubits) angles
    y_train: np.ndarray  # (N_train,) int labels 0..n_classes-1
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    meta: dict = field(default_factory=dict)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed): magic 0x0000 TT NN, NN big-endian int32 dims."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CryoctlError(f"cannot read IDX file ({exc.strerror})", field=str(path)) from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise CryoctlError("not an IDX file (bad magic number)", field=str(path))
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise CryoctlError(f"unknown IDX element type 0x{raw[2]:02x}", field=str(path))
    ndim = raw[3]
    dims = struct.unpack(">" + "i" * ndim, raw[4: 4 + 4 * ndim])
    dt = np.dtype(dtypes[raw[2]])
    count = int(np.prod(dims)) if dims else 1
    body = raw[4 + 4 * ndim:]
    if len(body) < count * dt.itemsize:
        raise CryoctlError(f"IDX file truncated: expected {count} elements of shape {dims}", field=str(path))
    return np.frombuffer(body, dtype=dt, count=count).reshape(dims)


def _idx_file(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise CryoctlError(f"missing {stem}[.gz] in {directory}", field="data_dir")


def load_idx_split(directory: str | Path):
    """(x_train, y_train, x_test, y_test) from the four standard MNIST-format IDX files."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CryoctlError(f"not a directory: {directory}", field="data_dir")
    xtr = read_idx(_idx_file(directory, "train-images-idx3-ubyte"))
    ytr = read_idx(_idx_file(directory, "train-labels-idx1-ubyte"))
    xte = read_idx(_idx_file(directory, "t10k-images-idx3-ubyte"))
    yte = read_idx(_idx_file(directory, "t10k-labels-idx1-ubyte"))
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise CryoctlError("image and label files disagree in length", field="data_dir")
    return (xtr.reshape(len(xtr), -1).astype(float), ytr.astype(np.int64),
            xte.reshape(len(xte), -1).astype(float), yte.astype(np.int64))


def _select_classes(x, y, classes):
    keep = np.isin(y, classes)
    remap = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([remap[int(v)] for v in y[keep]], dtype=np.int64)


def _subsample(x, y, n_max, rng):
    if n_max is None or len(y) <= n_max:
        return x, y
    from sklearn.model_selection import train_test_split

    x, _, y, _ = train_test_split(x, y, train_size=n_max, stratify=y, random_state=int(rng.integers(2**31)))
    return x, y


def to_angles(x_train, x_test, n_qubits: int):
    """Standardise -> PCA(n_qubits) -> min-max into [0, pi], all fitted on the training split; fewer
    features than qubits: angle 0 on the extra qubits. (train, test, explained variance ratio)."""
    from sklearn.decomposition import PCA

    mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    explained = 1.0
    if a.shape[1] > n_qubits:
        pca = PCA(n_components=n_qubits, svd_solver="full").fit(a)
        a, b = pca.transform(a), pca.transform(b)
        explained = float(pca.explained_variance_ratio_.sum())
    lo, hi = a.min(axis=0), a.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    a, b = np.pi * (a - lo) / span, np.pi * (b - lo) / span
    if a.shape[1] < n_qubits:  # fewer features than qubits: the extra qubits get angle 0
        a = np.hstack([a, np.zeros((len(a), n_qubits - a.shape[1]))])
        b = np.hstack([b, np.zeros((len(b), n_qubits - b.shape[1]))])
    return a, b, explained


def load_dataset(name: str, *, n_qubits: int = 4, seed: int = 0, test_fraction: float = 0.3,
                 data_dir: str | Path | None = None, classes: tuple[int, ...] = (0, 1, 2, 3),
                 n_samples: int = 200, max_train: int | None = None, max_test: int | None = None) -> Dataset:
    """Load ``name`` (see DATASETS), split (seeded, stratified) and map features to angles."""
    from sklearn import datasets as skd
    from sklearn.model_selection import train_test_split

    if name not in DATASETS:
        raise CryoctlError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}", field="dataset")
    if not 0.0 < test_fraction < 1.0:
        raise CryoctlError(f"expected a fraction in (0, 1), got {test_fraction}", field="test_fraction")
    rng = np.random.default_rng(seed)
    if name in ("mnist", "fashion_mnist"):
        if data_dir is None:
            raise CryoctlError(f"{name} is read from local IDX files: give the directory (--data-dir on the CLI)", field="data_dir")
        xtr, ytr, xte, yte = load_idx_split(data_dir)
        xtr, ytr = _select_classes(xtr, ytr, list(classes))
        xte, yte = _select_classes(xte, yte, list(classes))
        xtr, ytr = _subsample(xtr, ytr, max_train, rng)
        xte, yte = _subsample(xte, yte, max_test, rng)
    else:
        if name == "iris":
            x, y = skd.load_iris(return_X_y=True)
        elif name == "breast_cancer":
            x, y = skd.load_breast_cancer(return_X_y=True)
        elif name == "digits":
            x, y = skd.load_digits(return_X_y=True)
            x, y = _select_classes(x, y, list(classes))
        else:  # moons
            if n_qubits < 2:
                raise CryoctlError("two-moons needs at least 2 qubits", field="n_qubits")
            x, y = skd.make_moons(n_samples=n_samples, noise=0.1, random_state=seed)
        xtr, xte, ytr, yte = train_test_split(x.astype(float), y.astype(np.int64), test_size=test_fraction,
                                              stratify=y, random_state=seed)
        xtr, ytr = _subsample(xtr, ytr, max_train, rng)
        xte, yte = _subsample(xte, yte, max_test, rng)
    a, b, explained = to_angles(xtr, xte, n_qubits)  # moons: 2 features on qubits 0, 1, angle 0 elsewhere
    n_classes = int(max(ytr.max(), yte.max()) + 1)
    if n_classes > n_qubits:
        raise CryoctlError(f"{n_classes} classes need at least as many qubits (got {n_qubits})", field="n_qubits")
    return Dataset(name, a, ytr, b, yte, n_classes,
                   meta={"seed": seed, "test_fraction": test_fraction, "pca_explained_variance": explained,
                         "n_train": len(ytr), "n_test": len(yte)})
