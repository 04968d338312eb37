"""MicroBatcher: concurrent requests share network calls, within the batch
size, each gets its own rows, and a failing call fails every waiter."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from seqestimators.serve import MicroBatcher


def _run(batcher, requests):
    async def go():
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(r) for r in requests),
                                        return_exceptions=True)
        finally:
            await batcher.stop()

    return asyncio.run(go())


def test_requests_are_merged_up_to_max_batch():
    sizes = []

    def run(encoded):
        sizes.append(len(encoded))
        return np.asarray(encoded, dtype=np.float32)[:, None]

    batcher = MicroBatcher(run, max_batch=4, max_wait_ms=50)
    requests = [[1.0], [2.0, 3.0], [4.0], [5.0], [6.0, 7.0, 8.0]]
    outs = _run(batcher, requests)
    assert [o[:, 0].tolist() for o in outs] == requests  # each its own rows
    assert sizes[0] == 4 and sum(sizes) == 8 and len(sizes) < len(requests)
    assert batcher.n_calls == len(sizes) and batcher.n_sequences == 8


def test_a_failing_call_fails_every_request_of_the_batch():
    def run(encoded):
        raise RuntimeError("network down")

    outs = _run(MicroBatcher(run, max_batch=8, max_wait_ms=50), [[1], [2]])
    assert all(isinstance(o, RuntimeError) for o in outs)


def test_without_waiting_each_request_runs_alone():
    sizes = []

    def run(encoded):
        sizes.append(len(encoded))
        return np.zeros((len(encoded), 1), dtype=np.float32)

    _run(MicroBatcher(run, max_batch=1, max_wait_ms=0), [[1], [2], [3]])
    assert sizes == [1, 1, 1]


@pytest.mark.parametrize("max_batch", [0, -1])
def test_max_batch_must_be_positive(max_batch):
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda e: e, max_batch=max_batch)
