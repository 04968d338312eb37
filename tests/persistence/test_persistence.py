"""seqestimators.save / load: model files are data (safetensors + JSON)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import pickle
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from skorch.callbacks import Callback

import seqestimators
from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    ModelFileError,
    SequenceVectorizer,
    load,
    save,
)
from seqestimators.persistence._archive import FORMAT_VERSION, SUPPORTED

TINY = dict(hidden_size=4, max_epochs=2, random_state=0)
RNG = np.random.RandomState(0)
X3 = RNG.normal(size=(48, 6, 2)).astype(np.float32)
X2 = RNG.normal(size=(48, 6)).astype(np.float32)


# ------------------------------------------------------------------ models
@pytest.fixture(scope="module")
def classifier():
    """String labels, class weights in the loss, bidirectional attention."""
    y = np.array(["down", "flat", "up"])[np.digitize(X3[:, -1, 0], [-0.5, 0.5])]
    clf = LSTMSequenceClassifier(
        bidirectional=True, pooling="attention", class_weight="balanced", **TINY
    )
    return clf.fit(X3, y), X3


@pytest.fixture(scope="module")
def regressor():
    """Two outputs, GRU, no early stopping, optimizer given as a class."""
    y = np.column_stack([X3[:, -1, 0], X3[:, :, 1].sum(axis=1)])
    reg = LSTMSequenceRegressor(
        cell="gru", early_stopping=False, optimizer=torch.optim.AdamW, **TINY
    )
    return reg.fit(X3, y), X3


@pytest.fixture(scope="module")
def event_pipeline(sequences, targets):
    """SequenceVectorizer + classifier on the shared event log."""
    y = np.where(targets.loc[sequences.index, "will_buy"] == 1, "yes", "no")
    pipe = make_pipeline(SequenceVectorizer(max_len=30), LSTMSequenceClassifier(**TINY))
    return pipe.fit(sequences, y), sequences


@pytest.fixture(scope="module")
def scaled_pipeline():
    """StandardScaler + regressor on 2-D arrays (StandardScaler takes 2-D
    input only: each of the L steps of a univariate sequence is a column)."""
    pipe = make_pipeline(StandardScaler(), LSTMSequenceRegressor(**TINY))
    return pipe.fit(X2 * 10 + 3, X2[:, -1]), X2 * 10 + 3


@pytest.fixture(scope="module")
def target_transformed():
    model = TransformedTargetRegressor(
        regressor=LSTMSequenceRegressor(**TINY), transformer=StandardScaler()
    )
    return model.fit(X3, 100 * X3[:, -1, 0] + 5), X3


@pytest.fixture(scope="module")
def poisson_regressor():
    """Counts, loss="poisson": a log-rate network whose predictions are
    ``exp`` of its outputs, with early stopping."""
    counts = np.random.RandomState(1).poisson(np.exp(X3[:, -1, 0]))
    reg = LSTMSequenceRegressor(loss="poisson", validation_fraction=0.25, **TINY)
    return reg.fit(X3, counts), X3


@pytest.fixture(scope="module")
def huber_regressor():
    """loss="huber": its loss has a keyword argument (delta)."""
    reg = LSTMSequenceRegressor(loss="huber", early_stopping=False, **TINY)
    return reg.fit(X3, X3[:, -1, 0]), X3


MODELS = [
    "classifier",
    "regressor",
    "poisson_regressor",
    "huber_regressor",
    "event_pipeline",
    "scaled_pipeline",
    "target_transformed",
]


def _outputs(model, X) -> list[np.ndarray]:
    out = [np.asarray(model.predict(X))]
    if hasattr(model, "predict_proba"):
        out.append(model.predict_proba(X))
    return out


def _round_trip(model, tmp_path, name="model.seqm"):
    path = tmp_path / name
    save(model, path)
    return load(path), path


def _checksum(text: bytes, blob: bytes) -> bytes:
    """The archive checksum of a model file (its ZIP comment), as documented."""
    return (
        f"seqestimators-model sha256 model.json={hashlib.sha256(text).hexdigest()} "
        f"weights.safetensors={hashlib.sha256(blob).hexdigest()}"
    ).encode()


def _write(out, text: bytes, blob: bytes, comment: bytes | None = None):
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("model.json", text)
        zf.writestr("weights.safetensors", blob)
        zf.comment = _checksum(text, blob) if comment is None else comment
    return out


def _rewrite(path, *, doc=None, weights=None, out=None):
    """Copy a model file, replacing its JSON description and/or weights, with
    the archive checksum recomputed (so that the checks behind it run)."""
    with zipfile.ZipFile(path) as zf:
        text, blob = zf.read("model.json"), zf.read("weights.safetensors")
    if doc is not None:
        text = json.dumps(doc).encode()
    if weights is not None:
        blob = weights
    return _write(out or path.with_name("edited.seqm"), text, blob)


def _doc(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("model.json"))


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", MODELS)
def test_loaded_model_predicts_exactly_what_the_saved_one_did(name, request, tmp_path):
    model, X = request.getfixturevalue(name)
    loaded, _ = _round_trip(model, tmp_path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    for got, want in zip(_outputs(loaded, X), _outputs(model, X)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_fitted_attributes_survive(classifier, tmp_path):
    clf, X = classifier
    loaded, _ = _round_trip(clf, tmp_path)
    assert loaded.classes_.tolist() == ["down", "flat", "up"]
    assert loaded.classes_.dtype == clf.classes_.dtype
    for attr in ("n_iter_", "best_epoch_", "batch_size_", "device_", "stop_reason_"):
        assert getattr(loaded, attr) == getattr(clf, attr)
    assert loaded.loss_curve_ == clf.loss_curve_
    assert loaded.validation_scores_ == clf.validation_scores_
    assert loaded.input_signature_ == clf.input_signature_
    # history: the same frame, best epoch included; the net's skorch history
    # has the per-epoch scalars as plain values, per-batch entries dropped
    pd.testing.assert_frame_equal(loaded.history_, clf.history_)
    # one epoch marked best, none when the linear start was kept alone
    assert loaded.history_["best"].sum() == int(clf.best_epoch_ > 0)
    assert loaded.wide_alpha_ == clf.wide_alpha_
    assert float(loaded.net_.module_.wide.frozen) == 1.0
    assert loaded.net_.history[:, "train_loss"] == clf.history_["train_loss"].tolist()
    assert all(row["batches"] == [] for row in loaded.net_.history)
    # the loss keeps its class weights, the module its kwargs
    np.testing.assert_array_equal(
        loaded.net_.criterion_.weight.numpy(), clf.net_.criterion_.weight.numpy()
    )
    assert loaded.net_.get_params_for("module") == clf.net_.get_params_for("module")
    assert not loaded.net_.module_.training


def test_vectorizer_keeps_vocabulary_value_types(tmp_path):
    frame = pd.DataFrame(
        {
            "event": [["view", "ünï", "buy"], ["view"], []],
            "item": [[7, 2**62, 7], [3], []],
            "flag": [[True, False, True], [True], []],
            "price": [[1.5, 2.0, -3.0], [1e300], []],
            "t": [[0, 5, 5], [2], []],
        },
        index=pd.Index(["a", "b", "c"], name="user"),
    )
    vec = SequenceVectorizer(time="t", min_frequency=1).fit(frame)
    loaded, _ = _round_trip(vec, tmp_path)
    assert list(loaded.vocabularies_) == list(vec.vocabularies_)
    for col, vocab in vec.vocabularies_.items():
        got = loaded.vocabularies_[col]
        assert got.dtype == vocab.dtype
        assert got.tolist() == vocab.tolist()
        assert [type(v) for v in got.tolist()] == [type(v) for v in vocab.tolist()]
    assert [type(v) for v in loaded.vocabularies_["item"].tolist()] == [int] * 3
    assert [type(v) for v in loaded.vocabularies_["flag"].tolist()] == [bool] * 2
    np.testing.assert_array_equal(loaded.mean_, vec.mean_)
    np.testing.assert_array_equal(loaded.scale_, vec.scale_)
    a, b = loaded.transform(frame), vec.transform(frame)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.categorical, b.categorical)
    np.testing.assert_array_equal(a.numeric, b.numeric)


def test_training_continues_as_it_would_have(regressor, tmp_path):
    """Optimizer state and batch-order generator are saved: partial_fit on the
    loaded model equals partial_fit on the original."""
    reg, X = regressor
    y = np.column_stack([X[:, -1, 0], X[:, :, 1].sum(axis=1)])
    original = pickle.loads(pickle.dumps(reg))
    loaded, _ = _round_trip(reg, tmp_path)
    for model in (original, loaded):
        model.partial_fit(X, y)
        model.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    assert loaded.n_iter_ == original.n_iter_ == reg.n_iter_ + 2


@pytest.mark.parametrize("name", ["poisson_regressor", "huber_regressor"])
def test_regression_losses_round_trip(name, request, tmp_path):
    """The loss comes back with the model: the same criterion, the same
    predictions (rates for Poisson), the same continued training."""
    reg, X = request.getfixturevalue(name)
    y = reg.predict(X).round()  # counts for the Poisson loss
    original = pickle.loads(pickle.dumps(reg))
    loaded, path = _round_trip(reg, tmp_path)
    assert loaded.loss == reg.loss
    assert type(loaded.net_.criterion_) is type(reg.net_.criterion_)
    assert loaded.net_.get_params_for("criterion") == reg.net_.get_params_for(
        "criterion"
    )
    assert _doc(path)["object"]["params"]["loss"] == reg.loss
    for model in (original, loaded):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    if reg.loss == "poisson":
        assert (loaded.predict(X) >= 0).all()


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(MinMaxScaler(), LogisticRegression()),
        make_pipeline(MaxAbsScaler(), RobustScaler(), Ridge(alpha=2.0)),
        LinearRegression(),
        Pipeline([("skip", "passthrough"), ("clf", LogisticRegression(C=0.5))]),
    ],
    ids=["minmax-logreg", "maxabs-robust-ridge", "linreg", "passthrough"],
)
def test_supported_scikit_learn_estimators(model, tmp_path):
    y = (X2[:, 0] > 0).astype(int) if hasattr(model, "predict_proba") else X2[:, 0]
    model.fit(X2, y)
    loaded, _ = _round_trip(model, tmp_path)
    for got, want in zip(_outputs(loaded, X2), _outputs(model, X2)):
        np.testing.assert_array_equal(got, want)


def test_file_layout(classifier, tmp_path):
    clf, _ = classifier
    path = tmp_path / "model.seqm"
    save(clf, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["model.json", "weights.safetensors"]
        blob = zf.read("weights.safetensors")
    doc = _doc(path)
    assert doc["format"] == "seqestimators-model"
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["versions"]["seqestimators"] == seqestimators.__version__
    assert doc["versions"]["torch"] == torch.__version__
    assert doc["weights"]["sha256"] == hashlib.sha256(blob).hexdigest()
    node = doc["object"]
    assert node["class"] == "seqestimators.LSTMSequenceClassifier"
    assert node["params"]["class_weight"] == "balanced"
    assert node["attributes"]["classes_"] == {
        "$": "ndarray",
        "dtype": clf.classes_.dtype.str,
        "shape": [3],
        "data": ["down", "flat", "up"],
    }
    # the weights are a plain safetensors file: module, optimizer, loss
    tensors = safetensors.torch.load(blob)
    assert len(tensors) == doc["weights"]["n_tensors"]
    state = clf.net_.module_.state_dict()
    for key, value in state.items():
        torch.testing.assert_close(
            tensors[f"LSTMSequenceClassifier.net_.module.{key}"], value
        )
    assert any(".optimizer." in k for k in tensors)
    assert "LSTMSequenceClassifier.net_.criterion.weight" in tensors


def test_file_objects_and_overwrite(classifier, tmp_path):
    clf, X = classifier
    buffer = io.BytesIO()
    save(clf, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(load(buffer).predict(X), clf.predict(X))
    path = tmp_path / "m.seqm"
    path.write_bytes(b"old content")
    save(clf, str(path))  # replaced atomically; no temporary file left behind
    assert [p.name for p in tmp_path.iterdir()] == ["m.seqm"]
    np.testing.assert_array_equal(load(str(path)).predict(X), clf.predict(X))


def test_loaded_models_still_pickle(event_pipeline, tmp_path):
    pipe, X = event_pipeline
    loaded, _ = _round_trip(pipe, tmp_path)
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.predict_proba(X), pipe.predict_proba(X))


def test_special_values_round_trip(tmp_path):
    """Dict keys that are not strings, a RandomState, NaN scores."""
    y = (X3[:, -1, 0] > 0).astype(int)
    clf = LSTMSequenceClassifier(
        hidden_size=4,
        max_epochs=2,
        class_weight={0: 1.0, 1: 2.5},
        random_state=np.random.RandomState(3),
        optimizer="sgd",
    ).fit(X3, y)
    clf.best_validation_score_ = float("nan")
    loaded, _ = _round_trip(clf, tmp_path)
    assert loaded.class_weight == {0: 1.0, 1: 2.5}
    assert isinstance(loaded.random_state, np.random.RandomState)
    a, b = loaded.random_state.get_state(), clf.random_state.get_state()
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2:] == b[2:]
    assert np.isnan(loaded.best_validation_score_)
    np.testing.assert_array_equal(loaded.predict_proba(X3), clf.predict_proba(X3))


# -------------------------------------------------------- what is refused
def test_code_is_refused_at_save(classifier, tmp_path):
    clf, X = classifier
    path = tmp_path / "m.seqm"
    pipe = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression())
    pipe.fit(np.abs(X2), (X2[:, 0] > 0).astype(int))
    with pytest.raises(TypeError, match="FunctionTransformer cannot be saved"):
        save(pipe, path)
    with_callback = LSTMSequenceRegressor(callbacks=[Callback()], **TINY)
    with_callback.fit(X3, X3[:, -1, 0])
    with pytest.raises(TypeError, match="callbacks holds skorch callbacks"):
        save(with_callback, path)
    with pytest.raises(TypeError, match="cannot be saved"):
        save({"model": clf}, path)
    with pytest.raises(NotFittedError):
        save(LSTMSequenceClassifier(), path)
    assert not path.exists()


def test_loading_never_unpickles(event_pipeline, tmp_path, monkeypatch):
    pipe, X = event_pipeline
    path = tmp_path / "m.seqm"
    save(pipe, path)

    def refuse(*args, **kwargs):
        raise AssertionError("load() must not unpickle anything")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    np.testing.assert_array_equal(load(path).predict(X), pipe.predict(X))


@pytest.mark.parametrize(
    "cls", ["builtins.eval", "os.system", "sklearn.preprocessing.FunctionTransformer"]
)
def test_unknown_class_names_are_not_imported(classifier, tmp_path, cls):
    clf, _ = classifier
    _, path = _round_trip(clf, tmp_path)
    doc = _doc(path)
    doc["object"]["attributes"]["_label_encoder"]["class"] = cls
    edited = _rewrite(path, doc=doc)
    with pytest.raises(ValueError, match=re.escape(f"class {cls!r} is not one of")):
        load(edited)
    assert "seqestimators.LSTMSequenceClassifier" in SUPPORTED


def _mutations():
    def set_in(doc, keys, value):
        node = doc
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    attrs = ["object", "attributes"]
    return {
        "no format": (lambda d: d.pop("format"), "not a seqestimators model file"),
        "other format": (
            lambda d: set_in(d, ["format"], "keras"),
            "not a seqestimators model file",
        ),
        "newer format": (
            lambda d: set_in(d, ["format_version"], FORMAT_VERSION + 1),
            f"model file format {FORMAT_VERSION + 1}",
        ),
        "bad format version": (
            lambda d: set_in(d, ["format_version"], "1"),
            "invalid format_version",
        ),
        "no object": (lambda d: d.pop("object"), "KeyError"),
        "dunder attribute": (
            lambda d: set_in(d, [*attrs, "__class__"], 1),
            "bad attribute name",
        ),
        "void dtype": (
            lambda d: set_in(d, [*attrs, "classes_", "dtype"], "|V8"),
            "is not allowed",
        ),
        "huge string dtype": (
            lambda d: set_in(d, [*attrs, "classes_", "dtype"], "<U100000"),
            "is not allowed",
        ),
        "callbacks": (
            lambda d: set_in(d, ["object", "params", "callbacks"], ["print"]),
            "callbacks",
        ),
        "unknown tag": (
            lambda d: set_in(d, [*attrs, "n_iter_"], {"$": "pickle", "data": "x"}),
            "unknown value tag 'pickle'",
        ),
        "unknown parameter": (
            lambda d: set_in(d, ["object", "params", "hidden_sizes"], 3),
            "does not accept the saved parameters",
        ),
        "shape mismatch": (
            lambda d: set_in(d, ["object", "net", "module_kwargs", "hidden_size"], 5),
            "the weights do not fit the described model",
        ),
    }


@pytest.mark.parametrize("mutation", list(_mutations()))
def test_edited_descriptions_raise_value_error(classifier, tmp_path, mutation):
    clf, _ = classifier
    _, path = _round_trip(clf, tmp_path)
    doc = _doc(path)
    change, message = _mutations()[mutation]
    change(doc)
    with pytest.raises(ValueError, match=re.escape(message)):
        load(_rewrite(path, doc=doc))


def test_tampered_weights_fail_the_hash_check(classifier, tmp_path):
    clf, _ = classifier
    _, path = _round_trip(clf, tmp_path)
    with zipfile.ZipFile(path) as zf:
        tensors = safetensors.torch.load(zf.read("weights.safetensors"))
    key = "LSTMSequenceClassifier.net_.module.head.bias"
    tensors[key] = tensors[key] + 1.0
    edited = _rewrite(path, weights=safetensors.torch.save(tensors))
    with pytest.raises(ValueError, match="does not match the sha256"):
        load(edited)
    # an extra tensor with a matching hash is still refused
    tensors[key] = tensors[key] - 1.0
    tensors["extra"] = torch.zeros(1)
    blob = safetensors.torch.save(tensors)
    doc = _doc(path)
    doc["weights"]["sha256"] = hashlib.sha256(blob).hexdigest()
    with pytest.raises(ValueError, match="holds tensors that model.json does not"):
        load(_rewrite(path, doc=doc, weights=blob))


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_files_raise_value_error(classifier, tmp_path, keep):
    clf, _ = classifier
    _, path = _round_trip(clf, tmp_path)
    data = path.read_bytes()
    cut = tmp_path / "cut.seqm"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load(cut)


def test_flipped_byte_in_the_weights_is_detected(classifier, tmp_path):
    clf, _ = classifier
    _, path = _round_trip(clf, tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("weights.safetensors")
    data[info.header_offset + 200] ^= 0xFF  # inside the stored weights
    bad = tmp_path / "bad.seqm"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted|sha256"):
        load(bad)


def test_foreign_files_raise_value_error(tmp_path):
    cases = {
        "random.bin": np.random.RandomState(0).bytes(1000),
        "empty.bin": b"",
        "model.pkl": pickle.dumps(LSTMSequenceClassifier()),
        "model.json": b'{"format": "seqestimators-model"}',
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match="not a seqestimators model file"):
            load(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="lacks model.json"):
        load(other)
    inside = _write(tmp_path / "pickle_inside.zip", pickle.dumps({"a": 1}), b"")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(inside)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.seqm")


def test_other_library_versions_load_with_a_warning(classifier, tmp_path):
    clf, X = classifier
    _, path = _round_trip(clf, tmp_path)
    doc = _doc(path)
    doc["versions"]["torch"] = "1.0.0"
    doc["versions"]["seqestimators"] = "0.0.1"
    expected = r"seqestimators 0\.0\.1 \(here .*torch 1\.0\.0"
    with pytest.warns(UserWarning, match=expected):
        loaded = load(_rewrite(path, doc=doc))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)  # same versions: silent


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_model_trained_on_cuda_loads_on_cpu(event_pipeline, tmp_path):
    """A file written on a GPU machine records device 'cuda'; the tensors are
    always stored on the CPU, so such a file is simulated by editing it."""
    pipe, X = event_pipeline
    _, path = _round_trip(pipe, tmp_path)
    doc = _doc(path)
    node = doc["object"]["params"]["steps"][1]["items"][1]
    node["params"]["device"] = "cuda"
    node["attributes"]["device_"] = "cuda:0"
    with pytest.warns(UserWarning, match="trained on 'cuda:0'.*loaded on 'cpu'"):
        loaded = load(_rewrite(path, doc=doc))
    clf = loaded[-1]
    assert clf.device_ == "cpu" and clf.device == "cuda"
    assert next(clf.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


# ------------------------------------------------- the wide path's counts
def _module_kwargs(doc):
    """The (one) module description inside a model file's JSON."""
    if isinstance(doc, dict):
        if "module_kwargs" in doc:
            return doc["module_kwargs"]
        found = [_module_kwargs(v) for v in doc.values()]
    elif isinstance(doc, list):
        found = [_module_kwargs(v) for v in doc]
    else:
        return None
    return next((f for f in found if f is not None), None)


def test_files_written_before_log1p_counts_load_with_linear_counts(tmp_path):
    """The estimators enter an id seen c times as log1p(c) and save that
    choice; a file without it (written before) rebuilds with counts as c,
    as it was trained, and an unknown transform is refused."""
    rng = np.random.RandomState(0)
    events = [list(rng.choice(list("abcd"), size=rng.randint(4, 12)))
              for _ in range(160)]
    X = pd.DataFrame({"event": events})
    y = np.array([e.count("a") >= 3 for e in events]).astype(int)
    pipe = make_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(**TINY))
    pipe.fit(X, y)
    wide = pipe[-1].net_.module_.wide
    assert wide.counts == "log1p"
    assert any(bool((w != 0).any()) for w in wide.weights)
    _, path = _round_trip(pipe, tmp_path)
    doc = _doc(path)
    assert _module_kwargs(doc)["wide_counts"] == "log1p"

    del _module_kwargs(doc)["wide_counts"]
    old = load(_rewrite(path, doc=doc))
    assert old[-1].net_.module_.wide.counts == "linear"
    as_trained = copy.deepcopy(pipe)
    as_trained[-1].net_.module_.wide.counts = "linear"
    np.testing.assert_array_equal(old.predict_proba(X), as_trained.predict_proba(X))
    assert not np.array_equal(old.predict_proba(X), pipe.predict_proba(X))

    _module_kwargs(doc)["wide_counts"] = "sqrt"
    with pytest.raises(ModelFileError, match="counts must be one of"):
        load(_rewrite(path, doc=doc))
