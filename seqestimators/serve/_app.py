"""The HTTP service: a Starlette app around an :class:`ExportedModel`.

Endpoints: ``GET /health``, ``GET /model`` and ``POST /predict``. Malformed
input gets a 4xx with a message, never a 500: 400 for a body that is not a
JSON object, 413 for a request over the size limits, 422 for a payload the
model cannot read (missing columns, wrong types, out-of-order times, ...).
"""

from __future__ import annotations

import contextlib
import json
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..export import EventError, ExportedModel
from ._batching import MicroBatcher

__all__ = ["OUTPUTS", "create_app"]

#: what /predict can return, by task
OUTPUTS = {
    "classification": ("prediction", "probabilities", "topk"),
    "regression": ("prediction",),
}


class _PayloadError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


async def _read_json(request: Request, max_bytes: int):
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _PayloadError(413, f"The body has {declared} bytes; the limit is "
                                 f"{max_bytes}. Split the request.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise _PayloadError(413, f"The body exceeds {max_bytes} bytes; split "
                                     "the request.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _PayloadError(400, f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise _PayloadError(400, "The body nests JSON too deeply.") from None
    if not isinstance(payload, dict):
        raise _PayloadError(400, "The body must be a JSON object such as "
                                 '{"instances": [{"<column>": [...]}]}.')
    return payload


def _instances(payload: dict, limits: dict) -> list:
    if ("instances" in payload) == ("instance" in payload):
        raise _PayloadError(422, 'Send either "instances" (a list of sequences) '
                                 'or "instance" (one sequence), each an object '
                                 "mapping column names to lists of event values.")
    if "instance" in payload:
        return [payload["instance"]]
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise _PayloadError(422, '"instances" must be a non-empty list of '
                                 "sequences (objects of event lists).")
    if len(instances) > limits["max_sequences"]:
        raise _PayloadError(413, f"{len(instances)} sequences in one request; the "
                                 f"limit is {limits['max_sequences']}.")
    return instances


def _outputs(payload: dict, model: ExportedModel) -> tuple[list, int | None]:
    allowed = OUTPUTS[model.task]
    wanted = payload.get("return", ["prediction"])
    wanted = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(wanted, list) or not wanted or any(
        w not in allowed for w in wanted
    ):
        raise _PayloadError(422, f'"return" must be one or several of '
                                 f"{list(allowed)}; got {wanted!r}.")
    k = None
    if "topk" in wanted:
        try:
            k = model.check_k(payload.get("k", min(5, len(model.classes_))))
        except ValueError as exc:
            raise _PayloadError(422, str(exc)) from None
    return wanted, k


def _encode(model: ExportedModel, instances: list, limits: dict) -> list:
    encoded = []
    n_events = 0
    for i, instance in enumerate(instances):
        try:
            pair = model.encoder.encode_one(instance, where=f"instances[{i}]")
        except EventError as exc:
            raise _PayloadError(422, str(exc)) from None
        n_events += len(pair[0])
        if n_events > limits["max_events"]:
            raise _PayloadError(413, f"The request holds more than "
                                     f"{limits['max_events']} events; split it.")
        encoded.append(pair)
    return encoded


def _response(model: ExportedModel, out, wanted: list, k) -> dict:
    body = {}
    if "prediction" in wanted:
        body["predictions"] = model.predict_from_output(out).tolist()
    if "probabilities" in wanted:
        body["probabilities"] = model.proba_from_output(out).tolist()
        body["classes"] = model.classes_.tolist()
    if "topk" in wanted:
        body["topk"] = model.topk_from_output(out, k).tolist()
    return body


def create_app(model, *, max_batch=64, max_wait_ms=2.0, max_body_bytes=1_000_000,
               max_sequences=1_000, max_events=200_000):
    """The Starlette application serving ``model``.

    Parameters
    ----------
    model : ExportedModel
        The model to serve (see :func:`~seqestimators.export.export`).
    max_batch : int, default=64
        Sequences at which a batch of requests stops collecting (see
        :class:`MicroBatcher`).
    max_wait_ms : float, default=2.0
        Longest wait of a request for others to share its network call.
    max_body_bytes : int, default=1_000_000
        Larger bodies get a 413.
    max_sequences : int, default=1_000
        More sequences in one request get a 413.
    max_events : int, default=200_000
        More events in one request get a 413.

    Returns
    -------
    starlette.applications.Starlette

    Examples
    --------
    >>> from seqestimators.serve import create_app
    >>> create_app  # doctest: +ELLIPSIS
    <function create_app at ...>
    """
    limits = {"max_sequences": int(max_sequences), "max_events": int(max_events)}
    batcher = MicroBatcher(model.run_encoded, max_batch=max_batch,
                           max_wait_ms=max_wait_ms)
    settings = {"max_batch": int(max_batch), "max_wait_ms": float(max_wait_ms),
                "max_body_bytes": int(max_body_bytes), **limits}
    started = time.time()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "uptime_s": time.time() - started,
                             "network_calls": batcher.n_calls,
                             "sequences": batcher.n_sequences})

    async def model_info(request: Request) -> JSONResponse:
        return JSONResponse({**model.info(), "outputs": list(OUTPUTS[model.task]),
                             "limits": settings})

    async def predict(request: Request) -> JSONResponse:
        try:
            payload = await _read_json(request, settings["max_body_bytes"])
            instances = _instances(payload, limits)
            wanted, k = _outputs(payload, model)
            encoded = _encode(model, instances, limits)
        except _PayloadError as exc:
            return _error(exc.status, str(exc))
        out = await batcher.submit(encoded)
        return JSONResponse(_response(model, out, wanted, k))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        await batcher.stop()

    app = Starlette(routes=[
        Route("/health", health, methods=["GET"]),
        Route("/model", model_info, methods=["GET"]),
        Route("/predict", predict, methods=["POST"]),
    ], lifespan=lifespan)
    app.state.batcher = batcher
    return app
