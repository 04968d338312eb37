"""Loading is inert and bounded; every bad file raises ModelFileError
(docs/reliability.md, "Model files are data")."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seqestimators
from seqestimators import LSTMSequenceRegressor, SequenceVectorizer, load, save
from seqestimators.persistence import ModelFileError

X = np.random.RandomState(0).normal(size=(20, 4, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    reg = LSTMSequenceRegressor(hidden_size=2, max_epochs=1, random_state=0)
    reg.fit(X, X[:, -1, 0])
    path = tmp_path_factory.mktemp("trust") / "reg.seqm"
    save(reg, path)
    return reg, path


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return zf.read("model.json"), zf.read("weights.safetensors"), zf.comment


def _checksum(text: bytes, blob: bytes) -> bytes:
    return (
        f"seqestimators-model sha256 model.json={hashlib.sha256(text).hexdigest()} "
        f"weights.safetensors={hashlib.sha256(blob).hexdigest()}"
    ).encode()


def _archive(members, comment=None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        if comment is not None:
            zf.comment = comment
    buffer.seek(0)
    return buffer


def _edited(path, edit) -> io.BytesIO:
    """The file with its JSON edited by ``edit(doc)``, checksum recomputed."""
    text, blob, _ = _members(path)
    doc = json.loads(text)
    edit(doc)
    text = json.dumps(doc).encode()
    members = [("model.json", text), ("weights.safetensors", blob)]
    return _archive(members, _checksum(text, blob))


def test_model_file_error_is_the_one_public_exception():
    assert issubclass(ModelFileError, ValueError)
    assert seqestimators.ModelFileError is ModelFileError


def test_the_checksum_covers_the_json(model_file):
    _, path = model_file
    text, blob, comment = _members(path)
    assert comment == _checksum(text, blob)
    edited = text.replace(b'"max_epochs":1', b'"max_epochs":2')
    assert edited != text
    members = [("model.json", edited), ("weights.safetensors", blob)]
    with pytest.raises(ModelFileError, match="model.json does not match the sha256"):
        load(_archive(members, comment))
    with pytest.raises(ModelFileError, match="no archive checksum"):
        load(_archive(members))


def test_duplicate_and_unknown_members_are_refused(model_file):
    _, path = model_file
    text, blob, comment = _members(path)
    both = [("model.json", text), ("weights.safetensors", blob)]
    with pytest.warns(UserWarning, match="Duplicate name"):
        duplicate = _archive([*both, ("model.json", b"{}")], comment)
    with pytest.raises(ModelFileError, match="duplicate archive members"):
        load(duplicate)
    with pytest.raises(ModelFileError, match="unknown archive member 'run.sh'"):
        load(_archive([*both, ("run.sh", b"echo")], comment))


def test_zip_bomb_is_refused_before_reading():
    text = b'{"format": "seqestimators-model"' + b" " * (16 << 20) + b"}"
    bomb = _archive(
        [("model.json", text), ("weights.safetensors", b"")], _checksum(text, b"")
    )
    del text
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="beyond the bound"):
        load(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20


def test_declared_shapes_are_checked_before_allocating(model_file):
    """A model described as huge is refused without building it."""
    _, path = model_file

    def huge(doc):
        doc["object"]["net"]["module_kwargs"]["hidden_size"] = 10**9

    def deep(doc):
        doc["object"]["net"]["module_kwargs"]["num_layers"] = 10**7

    for edit in (huge, deep):
        start = time.perf_counter()
        with pytest.raises(ModelFileError, match="do not fit the described model"):
            load(_edited(path, edit))
        assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "array, message",
    [
        ({"dtype": "<U1000", "shape": [1], "data": ["a"]}, "wider than its strings"),
        ({"dtype": "<f8", "shape": [-1], "data": [1.0]}, "bad array shape"),
        ({"dtype": "<f8", "shape": [10**12], "data": [1.0]}, "do not fill the shape"),
        ({"dtype": "<i8", "shape": [1], "data": [1.5]}, "do not fit the dtype"),
        ({"dtype": "<i8", "shape": [1], "data": [2**70]}, "OverflowError"),
    ],
    ids=["wide strings", "negative shape", "huge shape", "float as int", "overflow"],
)
def test_arrays_hold_what_they_declare(model_file, array, message):
    _, path = model_file

    def edit(doc):
        doc["object"]["attributes"]["y_mean_"] = {"$": "ndarray", **array}

    with pytest.raises(ModelFileError, match=message):
        load(_edited(path, edit))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["object"]["attributes"].update(run_="x"), "bad attribute name"),
        (lambda d: d["object"]["params"].update(n_threads=10**9), "n_threads"),
        (lambda d: d["object"]["params"].update(device="cuda;ls"), "device"),
        (lambda d: d["object"]["attributes"].update(device_="/dev/x"), "device_"),
        (lambda d: d["object"]["attributes"].pop("y_mean_"), "lacks the fitted"),
        (lambda d: d["object"]["attributes"].update(_seed=-1), "_seed"),
        (lambda d: d["object"]["net"].pop("history"), "net description"),
        (lambda d: d.update(extra=1), "unknown entry 'extra'"),
    ],
    ids=["attr", "threads", "device", "device_", "missing", "seed", "net", "top"],
)
def test_parameters_and_attributes_are_checked(model_file, edit, message):
    _, path = model_file
    with pytest.raises(ModelFileError, match=message):
        load(_edited(path, edit))


def test_duplicate_json_keys_are_refused(model_file):
    _, path = model_file
    text, blob, _ = _members(path)
    text = text.replace(b'{"format":', b'{"format":"x","format":', 1)
    members = [("model.json", text), ("weights.safetensors", blob)]
    with pytest.raises(ModelFileError, match="duplicate key"):
        load(_archive(members, _checksum(text, blob)))


def test_pipeline_memory_is_never_a_path(tmp_path):
    pipe = make_pipeline(StandardScaler(), memory=str(tmp_path / "cache"))
    pipe.fit(X[:, :, 0])
    with pytest.raises(TypeError, match="memory names a cache directory"):
        save(pipe, tmp_path / "p.seqm")
    save(pipe.set_params(memory=None), tmp_path / "p.seqm")

    def edit(doc):
        doc["object"]["params"]["memory"] = "/tmp"

    with pytest.raises(ModelFileError, match="may not name a cache directory"):
        load(_edited(tmp_path / "p.seqm", edit))


def _vectorizer(reference_time):
    frame = pd.DataFrame(
        {"event": [["a", "b"], ["a"]], "t": [[0.0, 5.0], [2.0]]},
        index=pd.Index(["u", "v"]),
    )
    frame["t"] = frame["t"].map(lambda ts: list(pd.to_datetime(ts, unit="s", utc=True)))
    return SequenceVectorizer(time="t", reference_time=reference_time).fit(frame)


@pytest.mark.parametrize("tz", ["Europe/Paris", "UTC", "+02:00"])
def test_timezones_round_trip(tmp_path, tz):
    ref = pd.Timestamp("2020-03-01 12:00", tz="UTC").tz_convert(
        tz if tz != "+02:00" else __import__("datetime").timezone(pd.Timedelta("2h"))
    )
    vec = _vectorizer(ref)
    save(vec, tmp_path / "v.seqm")
    loaded = load(tmp_path / "v.seqm")
    assert loaded.reference_time == ref
    assert loaded.reference_time.utcoffset() == ref.utcoffset()


@pytest.mark.parametrize("tz", ["../../../../etc/passwd", "/etc/localtime", "x" * 300])
def test_a_timezone_name_is_never_a_path(tmp_path, tz):
    vec = _vectorizer(pd.Timestamp("2020-03-01 12:00", tz="Europe/Paris"))
    save(vec, tmp_path / "v.seqm")

    def edit(doc):
        doc["object"]["params"]["reference_time"]["tz"] = tz

    with pytest.raises(ModelFileError, match="neither an IANA timezone name"):
        load(_edited(tmp_path / "v.seqm", edit))


def test_save_respects_the_umask_and_the_path(model_file, tmp_path):
    reg, _ = model_file
    old = os.umask(0o027)
    try:
        save(reg, tmp_path / "model")  # no suffix added
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o640
    np.testing.assert_array_equal(load(tmp_path / "model").predict(X), reg.predict(X))
