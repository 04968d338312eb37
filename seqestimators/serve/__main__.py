"""``python -m seqestimators.serve MODEL --host 127.0.0.1 --port 8000``."""

from __future__ import annotations

import argparse

__all__ = ["main", "parse_args"]


def parse_args(argv=None) -> argparse.Namespace:
    """The command line of the service.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments (None: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace

    Examples
    --------
    >>> parse_args(["model.onnx", "--port", "9000"]).port
    9000
    """
    parser = argparse.ArgumentParser(
        prog="python -m seqestimators.serve",
        description="Serve an exported seqestimators model over HTTP (JSON).",
    )
    parser.add_argument("model", help="an .onnx/.pt file of seqestimators.export, "
                        "or a pipeline saved with seqestimators.save")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of one network call (default 1)")
    parser.add_argument("--max-batch", type=int, default=64,
                        help="most sequences per batched network call")
    parser.add_argument("--max-wait-ms", type=float, default=2.0,
                        help="longest wait for other requests to batch with")
    parser.add_argument("--max-body-bytes", type=int, default=1_000_000)
    parser.add_argument("--max-sequences", type=int, default=1_000)
    parser.add_argument("--max-events", type=int, default=200_000)
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Load the model and run the service until interrupted.

    Parameters
    ----------
    argv : list of str or None, default=None
        The command line (None: ``sys.argv[1:]``).

    Examples
    --------
    >>> main(["missing.onnx"])
    Traceback (most recent call last):
    ...
    FileNotFoundError: No model file at 'missing.onnx'.
    """
    args = parse_args(argv)
    from . import create_app, load_model

    model = load_model(args.model, n_threads=args.threads)
    app = create_app(
        model, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
        max_body_bytes=args.max_body_bytes, max_sequences=args.max_sequences,
        max_events=args.max_events,
    )
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=False)


if __name__ == "__main__":
    main()
