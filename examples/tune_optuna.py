"""
Tuning an LSTM pipeline with Optuna
===================================

:func:`seqestimators.tuning.tune` cross-validates a pipeline per Optuna
trial, reports the validation score of every epoch to the trial so that a
pruner can stop hopeless trials early, and keeps the study in a SQLite file
so that an interrupted run resumes where it stopped.

Run it with ``python examples/tune_optuna.py [n_users [n_trials]]`` (defaults
2000 users and 30 trials: about a minute on 2 CPU cores). It prints the best
parameters and score and saves Optuna's plots to ``examples/output/``. Run it
again and it resumes the study in ``examples/output/tune_optuna.db``: a study
that already holds ``N_TRIALS`` trials runs none. ``--fresh`` deletes the
study first.
"""

# %%
# Data: one row per user
# ----------------------
import sys
import time
import warnings
from pathlib import Path

import optuna
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log
from seqestimators.tuning import default_search_space, tune

SIZES = [int(arg) for arg in sys.argv[1:] if not arg.startswith("--")]
N_USERS = SIZES[0] if len(SIZES) > 0 else 2000
N_TRIALS = SIZES[1] if len(SIZES) > 1 else 30
MAX_EPOCHS = 10
N_SPLITS = 3
# sphinx-gallery runs the examples from their folder, without __file__
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = HERE / "output"
OUT.mkdir(exist_ok=True)
DB = OUT / "tune_optuna.db"
if "--fresh" in sys.argv:
    DB.unlink(missing_ok=True)

events, targets = make_event_log(n_users=N_USERS, random_state=0)
sequences = to_sequences(
    events, columns=["timestamp", "event_type", "category", "price"]
)
y = targets.loc[sequences.index, "will_buy"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    sequences, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# The pipeline and its search space
# ---------------------------------
# Parameters of a Pipeline step are addressed with the step's prefix. The
# default search space of the final step is a plain dict: take the part worth
# searching on this budget and narrow it.
pipe = Pipeline([
    ("vec", SequenceVectorizer(max_len=30)),
    ("clf", LSTMSequenceClassifier(max_epochs=MAX_EPOCHS, n_iter_no_change=3,
                                   random_state=0)),
])
defaults = default_search_space(pipe)
search_space = {
    "clf__lr": ("log-float", 1e-4, 3e-2),
    "clf__hidden_size": ("log-int", 8, 64),
    "clf__pooling": defaults["clf__pooling"],
    "clf__dropout": defaults["clf__dropout"],
}

# %%
# Tune, with pruning and a persistent study
# -----------------------------------------
# Each epoch of fold ``k`` is reported at step ``k * max_epochs + epoch``; the
# median pruner stops a trial whose best score so far is below the median of
# the completed trials at the same step.
#
# The networks are small, so each trial gets one torch thread and two trials
# run at a time (``n_jobs=2``, threads): that uses two cores better than one
# trial with two threads, and does not stall when other processes compete
# for the cores.
torch.set_num_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)
t0 = time.perf_counter()
result = tune(
    pipe,
    X_train,
    y_train,
    n_trials=N_TRIALS,
    timeout=240,
    cv=StratifiedKFold(n_splits=N_SPLITS, shuffle=True, random_state=0),
    scoring="roc_auc",
    search_space=search_space,
    storage=f"sqlite:///{DB}",
    study_name="will-buy",
    pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2),
    n_jobs=2,
    random_state=0,
)
study = result.study
states = [t.state.name for t in study.trials]
print(f"{len(study.trials)} trials in {time.perf_counter() - t0:.0f} s: "
      f"{states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned")
print(f"best cross-validated ROC AUC: {result.best_score_:.3f}")
print("best parameters:")
for name, value in result.best_params_.items():
    print(f"  {name} = {value:.4g}" if isinstance(value, float) else
          f"  {name} = {value}")
pruned_epochs = [sum(t.user_attrs.get("fold_epochs", [])) for t in study.trials
                 if t.state.name == "PRUNED"]
if pruned_epochs:
    print(f"pruned trials trained {sum(pruned_epochs)} epochs in all instead of "
          f"up to {len(pruned_epochs) * N_SPLITS * MAX_EPOCHS}")

# %%
# The refit best pipeline on held-out users
# -----------------------------------------
# ``best_estimator_`` is a clone of ``pipe`` with the best parameters, refit on
# all the training users.
best = result.best_estimator_
auc = roc_auc_score(y_test, best.predict_proba(X_test)[:, 1])
print(f"held-out users: ROC AUC {auc:.3f}, accuracy {best.score(X_test, y_test):.3f}")

# %%
# Optuna's plots
# --------------
try:
    import matplotlib

    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as optuna_plots
except ImportError:  # pragma: no cover - plotting is optional
    sys.exit(0)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    plots = {
        "tune_optuna_history.png": optuna_plots.plot_optimization_history,
        "tune_optuna_importances.png": optuna_plots.plot_param_importances,
        "tune_optuna_intermediate.png": optuna_plots.plot_intermediate_values,
    }
    for filename, plot in plots.items():
        ax = plot(study)
        if plot is optuna_plots.plot_intermediate_values:
            ax.get_legend().remove()  # one entry per trial: too many
            ax.set_xlabel(f"step = fold × {MAX_EPOCHS} + epoch")
            ax.set_ylabel("validation accuracy")
        ax.figure.set_size_inches(7, 4.5)
        ax.figure.tight_layout()
        ax.figure.savefig(OUT / filename, dpi=110)
        print(f"saved {OUT / filename}")
