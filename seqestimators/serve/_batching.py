"""Micro-batching: concurrent requests share one network call.

Each request is validated and encoded on arrival (so a malformed one fails
alone, with a 4xx); its encoded sequences then wait in an asyncio queue. One
worker takes the first waiting request, collects others for at most
``max_wait_ms`` or until it holds ``max_batch`` sequences (a request is
never split, so the last one may take a batch past it), runs the network
once in a thread, and hands each request its rows.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Group the encoded sequences of concurrent requests into batches.

    Parameters
    ----------
    run : callable
        ``run(encoded_list) -> ndarray (n, n_outputs)``: the network on
        encoded sequences (:meth:`ExportedModel.run_encoded`).
    max_batch : int, default=64
        Collecting stops once a batch holds this many sequences (requests
        are never split: a batch may end past it).
    max_wait_ms : float, default=2.0
        Longest time the first request of a batch waits for others.

    Attributes
    ----------
    n_calls : int
        Network calls so far.
    n_sequences : int
        Sequences predicted so far.

    Examples
    --------
    >>> import asyncio, numpy as np
    >>> batcher = MicroBatcher(lambda enc: np.arange(len(enc))[:, None], max_batch=8)
    >>> async def two_requests():
    ...     batcher.start()
    ...     outs = await asyncio.gather(batcher.submit(["a", "b"]),
    ...                                 batcher.submit(["c"]))
    ...     await batcher.stop()
    ...     return [o[:, 0].tolist() for o in outs]
    >>> asyncio.run(two_requests()), batcher.n_calls
    ([[0, 1], [2]], 1)
    """

    def __init__(self, run, *, max_batch: int = 64, max_wait_ms: float = 2.0):
        if int(max_batch) < 1 or float(max_wait_ms) < 0:
            raise ValueError(
                f"max_batch must be >= 1 and max_wait_ms >= 0; got "
                f"max_batch={max_batch!r}, max_wait_ms={max_wait_ms!r}."
            )
        self.run = run
        self.max_batch = int(max_batch)
        self.max_wait = float(max_wait_ms) / 1000.0
        self.n_calls = 0
        self.n_sequences = 0
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start the worker (in the running event loop)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker; requests still waiting get a RuntimeError."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while self._queue is not None and not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(RuntimeError("the server is shutting down"))

    async def submit(self, encoded: list) -> np.ndarray:
        """The raw outputs of one request's encoded sequences."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((encoded, future))
        return await future

    async def _collect(self) -> list:
        """The first waiting request and those arriving within the wait."""
        batch = [await self._queue.get()]
        size = len(batch[0][0])
        deadline = time.monotonic() + self.max_wait
        while size < self.max_batch:
            left = deadline - time.monotonic()
            if left <= 0 and self._queue.empty():
                break
            try:
                item = (self._queue.get_nowait() if left <= 0 else
                        await asyncio.wait_for(self._queue.get(), left))
            except (TimeoutError, asyncio.QueueEmpty):
                break
            batch.append(item)
            size += len(item[0])
        return batch

    async def _work(self) -> None:
        while True:
            batch = await self._collect()
            encoded = [e for request, _ in batch for e in request]
            try:
                out = await asyncio.to_thread(self.run, encoded) if encoded else None
            except Exception as exc:  # the network failed: every waiter learns
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.n_calls += 1
            self.n_sequences += len(encoded)
            start = 0
            for request, future in batch:
                if not future.done():
                    rows = out[start : start + len(request)] if out is not None else (
                        np.zeros((0, 0), dtype=np.float32))
                    future.set_result(rows)
                start += len(request)
