"""export(): the exported file predicts as the pipeline does, from raw event
lists, for every encoder, cell, direction, pooling and skip path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import seqestimators as se
from seqestimators.export import ExportedModel, export

pytest.importorskip("onnxruntime")

#: sequences the models are fitted on (kept small: each config fits a model)
N_FIT = 160


def as_instances(X) -> list:
    """Rows of a sequence frame as JSON-like event lists (ISO 8601 times)."""
    out = []
    for row in X.to_dict("records"):
        row = {k: list(v) for k, v in row.items()}
        if "timestamp" in row:
            row["timestamp"] = [t.isoformat() for t in row["timestamp"]]
        out.append(row)
    return out


@pytest.fixture(scope="module")
def data(sequences, targets):
    X = sequences.iloc[:N_FIT]
    return X, targets.loc[X.index]


TINY = {"hidden_size": 4, "max_epochs": 1, "random_state": 0, "embedding_dim": 3}

CONFIGS = {
    "lstm-last": (se.LSTMSequenceClassifier, {"pooling": "last"}),
    "gru-bidirectional-last+mean+max": (
        se.LSTMSequenceClassifier,
        {"cell": "gru", "bidirectional": True, "pooling": "last+mean+max"}),
    "lstm-2-layers-bidirectional-attention-ngrams": (
        se.LSTMSequenceClassifier,
        {"bidirectional": True, "num_layers": 2, "pooling": "attention",
         "wide_ngrams": 3}),
    "transformer-causal-last+attention": (
        se.TransformerSequenceClassifier,
        {"causal": True, "pooling": "last+attention", "num_heads": 2}),
    "transformer-ensemble-mean": (
        se.TransformerSequenceClassifier,
        {"pooling": "mean", "num_heads": 2, "ensemble_size": 2, "wide": False}),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_exported_classifier_matches_the_pipeline(name, data, tmp_path):
    cls, params = CONFIGS[name]
    X, y = data
    if "transformer" in name:
        params = {**params, "hidden_size": 4}
    pipe = se.make_sequence_pipeline(
        se.SequenceVectorizer(), cls(**{**TINY, **params})
    ).fit(X, y["next_event"].to_numpy())
    model = export(pipe, tmp_path / "model.onnx")
    instances = as_instances(X)
    proba = model.predict_proba(instances)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5, rtol=0)
    assert (model.predict(instances) == pipe.predict(X)).all()
    # dynamic batch and length: one sequence alone, a short and a long one
    lengths = [len(x["event_type"]) for x in instances]
    for i in (int(np.argmin(lengths)), int(np.argmax(lengths))):
        alone = model.predict_proba([instances[i]])
        np.testing.assert_allclose(alone[0], proba[i], atol=1e-6, rtol=0)
    top = model.predict_topk(instances[:5], k=2)
    assert (top == pipe.predict_topk(X.iloc[:5], k=2)).all()


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_exported_regressor_matches_the_pipeline(loss, data, tmp_path):
    X, y = data
    target = y["future_spend"].to_numpy()
    if loss == "poisson":
        target = np.round(target / 50)
    pipe = se.make_sequence_pipeline(
        se.SequenceVectorizer(), se.LSTMSequenceRegressor(**TINY, loss=loss)
    ).fit(X, target)
    model = export(pipe, tmp_path / "model.onnx")
    np.testing.assert_allclose(model.predict(as_instances(X)), pipe.predict(X),
                               rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def classifier(data):
    X, y = data
    return se.make_sequence_pipeline(
        se.SequenceVectorizer(), se.LSTMSequenceClassifier(**TINY)
    ).fit(X, y["will_buy"].to_numpy())


def test_torchscript_export_matches_the_pipeline(classifier, data, tmp_path):
    X, _ = data
    model = export(classifier, tmp_path / "model.pt", format="torchscript")
    instances = as_instances(X)
    proba = classifier.predict_proba(X)
    np.testing.assert_allclose(model.predict_proba(instances), proba, atol=1e-5,
                               rtol=0)
    shortest = int(np.argmin([len(x["price"]) for x in instances]))
    np.testing.assert_allclose(model.predict_proba([instances[shortest]])[0],
                               proba[shortest], atol=1e-5, rtol=0)
    reloaded = ExportedModel(tmp_path / "model.pt")
    assert reloaded.info()["columns"] == model.info()["columns"]


def test_int8_quantization_stays_close(classifier, data, tmp_path):
    X, _ = data
    full = export(classifier, tmp_path / "model.onnx")
    int8 = export(classifier, tmp_path / "int8.onnx", quantize=True)
    assert int8.path != full.path
    proba = int8.predict_proba(as_instances(X))
    assert np.abs(proba - classifier.predict_proba(X)).max() < 0.05
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_export_refuses_what_it_cannot_export(classifier, tmp_path):
    with pytest.raises(TypeError, match="SequenceVectorizer then"):
        export(classifier[-1], tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="format must be"):
        export(classifier, tmp_path / "m.onnx", format="pickle")
    with pytest.raises(ValueError, match="quantize=True needs"):
        export(classifier, tmp_path / "m.pt", format="torchscript", quantize=True)
    (tmp_path / "other.onnx").write_bytes(b"not a model")
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime's own error type
        ExportedModel(tmp_path / "other.onnx")


def test_exported_model_runs_without_torch_sklearn_or_pandas(classifier, data,
                                                            tmp_path):
    X, _ = data
    path = tmp_path / "model.onnx"
    export(classifier, path)
    instance = as_instances(X.iloc[:1])[0]
    code = (
        "import json, sys\n"
        "from seqestimators.export import ExportedModel\n"
        f"model = ExportedModel({str(path)!r})\n"
        f"p = model.predict_proba([json.loads({json_dumps(instance)!r})])\n"
        "heavy = {'torch', 'sklearn', 'skorch', 'pandas', 'pyarrow'}\n"
        "loaded = heavy & {m.split('.')[0] for m in sys.modules}\n"
        "print(json.dumps({'p': p.tolist(), 'loaded': sorted(loaded)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    result = __import__("json").loads(out)
    assert result["loaded"] == []
    np.testing.assert_allclose(result["p"], classifier.predict_proba(X.iloc[:1]),
                               atol=1e-5, rtol=0)


def json_dumps(obj) -> str:
    import json

    return json.dumps(obj)
