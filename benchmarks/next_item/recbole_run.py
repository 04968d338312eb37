"""RecBole's SASRec / GRU4Rec on the split of ``run.py`` (a side-by-side
reference; RecBole is not a dependency of the library).

    python -m venv /tmp/rb --system-site-packages
    /tmp/rb/bin/pip install recbole==1.2.1 "setuptools<70"
    /tmp/rb/bin/python benchmarks/next_item/recbole_run.py movielens SASRec

The sequences of ``run.py`` are written as RecBole atomic files with the
position in the sequence as the timestamp (so the order is exactly ours);
RecBole's leave-one-out ("LS", ordered by time) then tests on the same last
event of each user, validates on the one before, and ranks the full
catalogue (``mode: full``). ``recbole.quick_start`` is not imported: with
numpy 2 its ray 2.6 import fails (``np.bool8``); the model, trainer and data
modules work once ``np.float_`` and ``np.unicode_`` (removed in numpy 2) are
aliased, and its own checkpoint is reloaded with ``weights_only=False``
(torch 2.6 changed the default). RecBole's full ranking of a sequential
model does not remove the history's items, unlike ``run.py`` on MovieLens.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _run_module():
    spec = importlib.util.spec_from_file_location("next_item_run", HERE / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_atomic(X: pd.DataFrame, folder: Path, name: str) -> None:
    lengths = X["item"].list.len().to_numpy()
    items = X["item"].explode().to_numpy(dtype=str)
    users = np.repeat(np.arange(len(X)), lengths)
    pos = np.arange(len(items)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    (folder / name).mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"user_id:token": users, "item_id:token": items,
                          "timestamp:float": pos.astype(float)})
    frame.to_csv(folder / name / f"{name}.inter", sep="\t", index=False)


def main(dataset: str, model_name: str, epochs: int = 10) -> dict:
    # RecBole 1.2.1 reads aliases that numpy 2 removed
    np.float_, np.complex_, np.unicode_ = np.float64, np.complex128, np.str_
    # and reloads its best checkpoint (written by this very run) with
    # torch.load's pre-2.6 default
    import torch

    load = torch.load
    torch.load = lambda *a, **k: load(*a, **{**k, "weights_only": False})
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model import sequential_recommender
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    R = _run_module()
    loader, _ = R.DATASETS[dataset]
    X = loader()
    folder = Path(tempfile.mkdtemp())
    write_atomic(X, folder, dataset)
    os.chdir(folder)  # RecBole writes log/ and log_tensorboard/ into the cwd
    config = Config(model=model_name, dataset=dataset, config_dict={
        "data_path": str(folder), "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO",
                      "mode": "full", "group_by": "user"},
        "metrics": ["Hit", "NDCG"], "topk": [10], "valid_metric": "NDCG@10",
        "epochs": epochs, "stopping_step": 3, "train_neg_sample_args": None,
        "loss_type": "CE", "device": "cpu", "use_gpu": False, "seed": 0,
        "show_progress": False, "MAX_ITEM_LIST_LENGTH": 50,
        "checkpoint_dir": str(folder / "saved"),
    })
    init_seed(config["seed"], config["reproducibility"])
    data = create_dataset(config)
    train, valid, test = data_preparation(config, data)
    model = getattr(sequential_recommender, model_name)(config, train.dataset)
    trainer = Trainer(config, model)
    t = time.perf_counter()
    trainer.fit(train, valid, saved=True, show_progress=False)
    fit = time.perf_counter() - t
    result = trainer.evaluate(test, load_best_model=True, show_progress=False)
    row = dict(dataset=dataset, model=f"recbole_{model_name}", seed=0,
               hr10=float(result["hit@10"]), ndcg10=float(result["ndcg@10"]),
               fit_seconds=fit)
    print(json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    row = main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 10)
    out = HERE / "results_recbole.csv"
    old = pd.read_csv(out) if out.exists() else pd.DataFrame()
    pd.concat([old, pd.DataFrame([row])]).to_csv(out, index=False)
