"""The HTTP service, started as a real subprocess (uvicorn) on a free port:
predictions equal the pipeline's, concurrent requests share network calls,
malformed requests get a 4xx with a message and never a 500."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import seqestimators as se
from seqestimators.export import export
from seqestimators.serve import load_model

from ..export.test_export import as_instances

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, payload=None, *, raw: bytes | None = None, method=None):
    """``(status, body as JSON)`` of one HTTP request."""
    data = raw if raw is not None else (
        None if payload is None else json.dumps(payload).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body)
        except ValueError:
            return err.code, {"raw": body.decode(errors="replace")}


@pytest.fixture(scope="module")
def pipeline(sequences, targets):
    X = sequences.iloc[:150]
    y = targets.loc[X.index, "next_event"].to_numpy()
    pipe = se.make_sequence_pipeline(
        se.SequenceVectorizer(),
        se.LSTMSequenceClassifier(hidden_size=4, max_epochs=1, random_state=0),
    )
    return pipe.fit(X, y), X


@pytest.fixture(scope="module")
def server(pipeline, tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "model.onnx"
    export(pipeline[0], path)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqestimators.serve", str(path), "--port", str(port),
         "--max-wait-ms", "30", "--max-body-bytes", "200000",
         "--max-sequences", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(url + "/health")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not start: {proc.stdout.read().decode()}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_health_and_model_info(server, pipeline):
    status, body = request(server + "/health")
    assert status == 200 and body["status"] == "ok"
    status, info = request(server + "/model")
    assert status == 200
    assert info["columns"] == {"categorical": ["event_type", "category"],
                               "numeric": ["price"], "time": "timestamp"}
    assert info["classes"] == pipeline[0].classes_.tolist()
    assert info["limits"]["max_sequences"] == 50


def test_predictions_equal_the_pipeline(server, pipeline):
    pipe, X = pipeline
    instances = as_instances(X.iloc[:20])
    status, body = request(server + "/predict", {
        "instances": instances, "return": ["prediction", "probabilities", "topk"],
        "k": 2})
    assert status == 200
    np.testing.assert_allclose(body["probabilities"], pipe.predict_proba(X.iloc[:20]),
                               atol=1e-5, rtol=0)
    assert body["predictions"] == pipe.predict(X.iloc[:20]).tolist()
    assert body["topk"] == pipe.predict_topk(X.iloc[:20], k=2).tolist()
    assert body["classes"] == pipe.classes_.tolist()
    status, one = request(server + "/predict", {"instance": instances[3]})
    assert status == 200 and one == {"predictions": body["predictions"][3:4]}


def test_concurrent_requests_share_network_calls(server, pipeline):
    pipe, X = pipeline
    instances = as_instances(X.iloc[:32])
    expected = pipe.predict_proba(X.iloc[:32])
    calls_before = request(server + "/health")[1]["network_calls"]

    def one(i):
        return request(server + "/predict", {"instance": instances[i],
                                             "return": "probabilities"})

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(32)))
    assert all(status == 200 for status, _ in results)
    got = np.array([body["probabilities"][0] for _, body in results])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    calls = request(server + "/health")[1]["network_calls"] - calls_before
    assert 1 <= calls < 32  # micro-batching merged concurrent requests


def _bad_payloads(instance):
    many = {"instances": [instance] * 51}
    return [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b"\xff\xfe", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (json.dumps({"instances": []}).encode(), 422),
        (json.dumps({"instances": "abc"}).encode(), 422),
        (json.dumps({"instance": instance, "instances": [instance]}).encode(), 422),
        (json.dumps({"instance": 3}).encode(), 422),
        (json.dumps({"instance": {**instance, "price": "x"}}).encode(), 422),
        (json.dumps({"instance": {"event_type": ["view"]}}).encode(), 422),
        (json.dumps({"instance": {**instance, "timestamp":
                                  instance["timestamp"][::-1]}}).encode(), 422),
        (json.dumps({"instance": instance, "return": "everything"}).encode(), 422),
        (json.dumps({"instance": instance, "return": "topk", "k": 99}).encode(), 422),
        (json.dumps({"instance": instance, "return": "topk", "k": "2"}).encode(), 422),
        (json.dumps(many).encode(), 413),
        (b'{"instances": "' + b"x" * 300_000 + b'"}', 413),
    ]


def test_malformed_requests_get_a_4xx_with_a_message(server, pipeline):
    _, X = pipeline
    instance = max(as_instances(X.iloc[:30]), key=lambda x: len(x["price"]))
    for raw, expected in _bad_payloads(instance):
        status, body = request(server + "/predict", raw=raw)
        assert status == expected, (raw[:80], status, body)
        assert body["error"] and body["status"] == expected
    assert request(server + "/predict", method="GET")[0] == 405
    assert request(server + "/nothing")[0] == 404
    assert request(server + "/health")[0] == 200  # still serving


def test_random_payloads_never_get_a_500(server, pipeline):
    _, X = pipeline
    instance = as_instances(X.iloc[:1])[0]
    rng = np.random.default_rng(0)
    junk = [None, 0, -1.5, "", "x", [], {}, [None], [1, "a"], True, 1e308,
            [10**400], [[1]], [{"a": 1}], ["0001-01-01T00:00:00+05:00"],
            ["9999-12-31T23:59:59"], [float("inf")]]
    for _ in range(80):
        broken = {k: list(v) for k, v in instance.items()}
        key = rng.choice(list(broken) + ["extra"])
        broken[key] = junk[rng.integers(len(junk))]
        status, _ = request(server + "/predict", {"instance": broken})
        assert status in (200, 422), (broken, status)


def test_a_saved_pipeline_is_served_through_an_export(pipeline, tmp_path):
    pipe, X = pipeline
    from sklearn.pipeline import Pipeline

    path = tmp_path / "model.seqm"
    se.save(Pipeline(pipe.steps), path)
    model = load_model(path)
    np.testing.assert_allclose(model.predict_proba(as_instances(X.iloc[:10])),
                               pipe.predict_proba(X.iloc[:10]), atol=1e-5, rtol=0)
