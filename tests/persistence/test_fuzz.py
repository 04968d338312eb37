"""Fuzzing load: mutated model files load to a working model or raise
ModelFileError, each within bounded time and memory (docs/reliability.md)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import resource
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
import safetensors.torch
import torch

from seqestimators import LSTMSequenceClassifier, LSTMSequenceRegressor, load, save
from seqestimators.persistence import ModelFileError

X = np.random.RandomState(0).normal(size=(16, 3, 1)).astype(np.float32)
TINY = dict(hidden_size=2, max_epochs=1, random_state=0)
#: values put in place of a JSON value
JUNK = [
    None,
    -1,
    0,
    1,
    2**40,
    10**30,
    1.5,
    float("nan"),
    "x",
    "",
    [],
    {},
    [1, "a"],
    {"$": "ndarray", "dtype": "<f8", "shape": [2], "data": [1.0, 2.0]},
    {"$": "tensor", "key": "nope"},
    {"$": "estimator", "class": "os.system"},
    {"$": "dict", "items": [[1, 2], [1, 3]]},
    True,
]


def _members(data: bytes):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("model.json"), zf.read("weights.safetensors")


def _pack(text: bytes, blob: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.json", text)
        zf.writestr("weights.safetensors", blob)
        zf.comment = (
            f"seqestimators-model sha256 model.json={hashlib.sha256(text).hexdigest()}"
            f" weights.safetensors={hashlib.sha256(blob).hexdigest()}"
        ).encode()
    return buffer.getvalue()


def _paths(node, prefix=()):
    """Every (path, value) position of a JSON tree."""
    yield prefix, node
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _json_mutation(doc: dict, rng: np.random.Generator) -> dict:
    doc = copy.deepcopy(doc)
    positions = [p for p, _ in _paths(doc) if p]
    path = positions[rng.integers(len(positions))]
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    value, kind = parent[path[-1]], rng.integers(4)
    if kind == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif kind == 1 and isinstance(value, int) and not isinstance(value, bool):
        parent[path[-1]] = int(value * rng.choice([-1, 2, 1000]) + rng.integers(-2, 3))
    elif kind == 2 and isinstance(value, dict) and value.get("$") == "ndarray":
        value[rng.choice(["dtype", "shape"])] = (
            str(rng.choice(["<f4", "<i8", "|b1", "<U1", "|O", "<U64", "<c16"]))
            if rng.random() < 0.5
            else [int(rng.integers(-1, 4))]
        )
    else:
        junk = JUNK[rng.integers(len(JUNK))]
        parent[path[-1]] = junk if not isinstance(junk, float) else "nan"
    return doc


def _weights_mutation(blob: bytes, rng: np.random.Generator) -> bytes:
    tensors = safetensors.torch.load(blob)
    key = sorted(tensors)[rng.integers(len(tensors))]
    t = tensors[key]
    tensors[key] = [t.double(), t.flatten(), torch.zeros(t.numel() + 1), t.int()][
        rng.integers(4)
    ].contiguous()
    return safetensors.torch.save(tensors)


def _check(data: bytes, model, outputs) -> str:
    """Load ``data``: ModelFileError, or a model that predicts (the same
    outputs when ``outputs`` is given)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        loaded = load(io.BytesIO(data))
    except ModelFileError:
        return "refused"
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < 2, elapsed
        assert peak < 32 << 20, peak
    got = loaded.predict(X)
    assert got.shape == model.predict(X).shape
    if outputs is not None:
        np.testing.assert_array_equal(got, outputs)
    return "loaded"


@pytest.fixture(scope="module")
def models():
    y = (X[:, -1, 0] > 0).astype(int)
    clf = LSTMSequenceClassifier(class_weight="balanced", **TINY).fit(X, y)
    reg = LSTMSequenceRegressor(**TINY).fit(X, X[:, -1, 0])
    out = []
    for model in (clf, reg):
        buffer = io.BytesIO()
        save(model, buffer)
        out.append((model, buffer.getvalue()))
    return out


@pytest.mark.filterwarnings("ignore:.*saved with other library versions")
def test_fuzzed_files_load_identically_or_raise_model_file_error(models):
    rng = np.random.default_rng(0)
    counts = {"refused": 0, "loaded": 0}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for model, data in models:
        want = model.predict(X)
        text, blob = _members(data)
        doc = json.loads(text)
        for i in range(240):
            if i < 100:  # bytes flipped anywhere: checksum, ZIP structure, JSON
                mutated = bytearray(data)
                for pos in rng.integers(len(data), size=rng.integers(1, 4)):
                    mutated[pos] ^= 1 << rng.integers(8)
                result = _check(bytes(mutated), model, want)
            elif i < 130:  # truncated
                result = _check(data[: rng.integers(len(data))], model, want)
            elif i < 220:  # edited JSON, checksum recomputed: structural checks
                edited = json.dumps(_json_mutation(doc, rng)).encode()
                result = _check(_pack(edited, blob), model, None)
            else:  # edited tensors, both hashes recomputed
                weights = _weights_mutation(blob, rng)
                edited_doc = copy.deepcopy(doc)
                edited_doc["weights"]["sha256"] = hashlib.sha256(weights).hexdigest()
                result = _check(
                    _pack(json.dumps(edited_doc).encode(), weights), model, None
                )
            counts[result] += 1
    rss_growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert rss_growth_kb < 256 << 10
    assert counts["refused"] > 300 and counts["loaded"] > 10, counts
