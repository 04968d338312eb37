"""NumpyEncoder: the vectorizer's output from raw event lists, with numpy
alone; malformed events raise EventError saying what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqestimators import SequenceVectorizer
from seqestimators.export import EventError, NumpyEncoder, vectorizer_state

from .test_export import as_instances


def encoder_of(vec) -> NumpyEncoder:
    # through JSON, as the state travels in an exported file
    return NumpyEncoder(json.loads(json.dumps(vectorizer_state(vec))))


def assert_same_encoding(vec, X, instances):
    Xt = vec.transform(X).to_padded()
    cat, num, lengths = encoder_of(vec).encode(instances)
    assert (lengths == vec.transform(X).lengths).all()
    T = Xt["categorical"].shape[1]
    assert (cat[:, :T] == Xt["categorical"]).all()
    np.testing.assert_allclose(num[:, :T], Xt["numeric"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("params", [
    {},
    {"calendar": ["hour", "dayofweek", "month"], "max_len": 5},
    {"reference_time": "2025-01-01", "min_frequency": 3},
])
def test_encoder_matches_the_vectorizer(params, sequences):
    X = sequences.iloc[:200]
    vec = SequenceVectorizer(**params).fit(X)
    assert_same_encoding(vec, X, as_instances(X))


def test_timezone_aware_times_and_a_reference_column():
    times = [["2024-03-30T23:30:00+01:00", "2024-03-31T09:00:00+02:00"],
             ["2024-01-01T12:00:00+01:00"], []]
    X = pd.DataFrame({"t": [list(pd.to_datetime(t, utc=True).tz_convert("Europe/Paris"))
                            for t in times],
                      "item": [["a", "b"], ["b"], []],
                      "cutoff": pd.to_datetime(["2024-04-01", "2024-02-01",
                                                "2024-02-01"], utc=True)})
    vec = SequenceVectorizer(time="t", reference_time="cutoff",
                             calendar=["hour", "dayofweek"]).fit(X)
    instances = [{"t": t, "item": i, "cutoff": c.isoformat()}
                 for t, i, c in zip(times, X["item"], X["cutoff"])]
    assert_same_encoding(vec, X, instances)
    assert encoder_of(vec).reference == "cutoff"


def test_epoch_times_with_a_unit():
    X = pd.DataFrame({"ms": [[1_704_067_200_000, 1_704_067_260_500], [86_400_000]],
                      "item": [[1, 2], [2]]})
    vec = SequenceVectorizer(time="ms", time_unit="ms", categorical=["item"],
                             calendar=["hour"]).fit(X)
    instances = [{"ms": list(t), "item": list(i)} for t, i in zip(X["ms"], X["item"])]
    assert_same_encoding(vec, X, instances)


@pytest.fixture(scope="module")
def fitted(sequences):
    X = sequences.iloc[:100]
    return SequenceVectorizer(reference_time="2025-01-01").fit(X), as_instances(X)


def _broken(instance, **changes):
    out = {k: list(v) for k, v in instance.items()}
    out.update(changes)
    return out


@pytest.mark.parametrize("change, message", [
    (lambda x: {k: v for k, v in x.items() if k != "price"},
     "lacks the column 'price'"),
    (lambda x: _broken(x, event_type="view"), "must be a list"),
    (lambda x: _broken(x, event_type=[1] * len(x["price"])), "holds int 1"),
    (lambda x: _broken(x, price=["cheap"] * len(x["price"])), "numeric column"),
    (lambda x: _broken(x, price=[float("nan")] * len(x["price"])), "finite"),
    (lambda x: _broken(x, price=x["price"] + [1.0]), "differ in length"),
    (lambda x: _broken(x, timestamp=x["timestamp"][::-1]), "out of order"),
    (lambda x: _broken(x, timestamp=["yesterday"] * len(x["price"])), "ISO 8601"),
    (lambda x: _broken(x, timestamp=[t + "+02:00" for t in x["timestamp"]]),
     "without a UTC offset"),
    (lambda x: _broken(x, timestamp=["2030-01-01T00:00:00"] * len(x["price"])),
     "after the sequence's reference"),
    (lambda x: ["not", "a", "mapping"], "must be an object"),
])
def test_malformed_events_raise_event_error(change, message, fitted):
    vec, instances = fitted
    instance = max(instances, key=lambda x: len(x["price"]))  # several events
    with pytest.raises(EventError, match=message):
        encoder_of(vec).encode([change(instance)])


def test_unknown_categories_follow_handle_unknown(sequences):
    X = sequences.iloc[:50]
    instance = {**as_instances(X.iloc[:1])[0]}
    instance["event_type"] = ["teleport"] * len(instance["event_type"])
    ids, _, _ = encoder_of(SequenceVectorizer().fit(X)).encode([instance])
    assert (ids[0, :, 0] == 1).all()
    strict = SequenceVectorizer(handle_unknown="error").fit(X)
    with pytest.raises(EventError, match="unseen in fit"):
        encoder_of(strict).encode([instance])
    assert isinstance(EventError("x"), ValueError)
