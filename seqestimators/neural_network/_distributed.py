"""Data-parallel training with ``torch.distributed``.

A fit runs data-parallel whenever it starts inside a ``torch.distributed``
process group of two or more processes (``torchrun`` and
``init_process_group``; docs/scaling.md). Every process calls ``fit`` on the
same data and ends with the same fitted estimator: the one that a single
process fits on the same data, up to float rounding.

- **Batches**: every process draws the same seeded, length-bucketed batch
  order, so the *global* batches are those of a single-process fit with the
  same ``batch_size``. Process ``r`` of ``R`` trains on rows ``r::R`` of each
  global batch (:class:`ShardedBatches`); a global batch of fewer than ``R``
  rows leaves some processes a stand-in row whose gradient counts zero, so
  that every process takes the same number of steps.
- **Gradients**: the module is wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel` for the training steps
  (``SeededNet.infer`` forwards through it). Its gradient all-reduce sums
  ``(W_r / W) * grad(L_r)`` over the processes (:func:`weighted_sum_hook`),
  with ``L_r`` the weighted mean loss of process ``r``'s rows, ``W_r`` their
  total weight (sample x class weights; rows without weights weigh 1) and
  ``W`` that of the global batch: the gradient of the global batch's
  weighted mean loss, as in a single process. DDP's own mean would weigh a
  stand-in row, or a process with fewer rows, like any other.
- **History and stopping**: each step all-reduces the loss, so every
  process records the global batch's loss and size
  (:class:`StepSync`) and stops on a non-finite loss at the same batch.
  Process ``r`` evaluates every ``R``-th validation batch
  (:class:`ShardedValidation`); the loss sums are all-reduced and the
  outputs gathered for the score, so every process records the validation
  loss and score of the whole split and early stopping and restore-best
  decide alike on all processes.
- **Agreement**: the seed (also of ``random_state=None``), the linear start
  (run on every process; process 0's weights and choices are kept) and
  the choice between the network and the linear model come from process 0;
  at the end every process holds process 0's weights. The data are checked
  to be the same on every process (:meth:`DataParallel.check_same_data`).
- **Dropout** draws differ per process (a stream per rank): with dropout a
  data-parallel fit equals a single-process one in distribution only.
"""

from __future__ import annotations

import inspect
import zlib
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.distributed as dist
from skorch.callbacks import Callback
from torch.nn.parallel import DistributedDataParallel

from ._seeding import effective_weight

__all__ = [
    "DataParallel",
    "ShardedBatches",
    "ShardedValidation",
    "StepSync",
    "agree",
    "begin",
    "process_group",
    "training",
    "weighted_sum_hook",
]


def process_group() -> DataParallel | None:
    """The data-parallel setting of a fit that starts now: None unless
    ``torch.distributed`` is initialized with two or more processes."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    world_size = dist.get_world_size()
    if world_size < 2:
        return None
    return DataParallel(dist.get_rank(), world_size, str(dist.get_backend()))


def agree(obj):
    """Process 0's ``obj`` on every process of a data-parallel fit (``obj``
    itself otherwise); ``obj`` must pickle (plain Python values)."""
    group = process_group()
    return obj if group is None else group.agree(obj)


@dataclass
class DataParallel:
    """One data-parallel fit: this process's ``rank`` among ``world_size``
    processes of the default process group (``backend``: "gloo", "nccl")."""

    rank: int
    world_size: int
    backend: str

    def _device(self, device="cpu") -> torch.device:
        # NCCL moves CUDA tensors only; gloo moves CPU tensors
        return torch.device(device) if self.backend == "nccl" else torch.device("cpu")

    def all_reduce(self, values, device="cpu") -> np.ndarray:
        """The sums of the float ``values`` over the processes (float64)."""
        t = torch.as_tensor(np.asarray(values, dtype=np.float64))
        t = t.to(self._device(device))
        dist.all_reduce(t)
        return t.cpu().numpy()

    def agree(self, obj):
        """Process 0's ``obj`` (pickled; plain Python values)."""
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_tensors(self, tensors) -> None:
        """Overwrite ``tensors`` in place with process 0's."""
        for t in tensors:
            device = t.device
            if self._device(device) == device:
                dist.broadcast(t.data, src=0)
            else:
                copy = t.detach().to(self._device(device))
                dist.broadcast(copy, src=0)
                t.data.copy_(copy.to(device))

    def check_same_data(self, name: str, X, y, sample_weight) -> None:
        """Raise a ValueError on every process unless all of them got the
        same sequences, targets and weights (a checksum of each)."""
        arrays = [X.offsets, X.categorical, X.numeric, y]
        if sample_weight is not None:
            arrays.append(sample_weight)
        mine = tuple(
            (a.shape, str(a.dtype), zlib.crc32(np.ascontiguousarray(a).data))
            for a in map(np.asarray, arrays)
        )
        every = [None] * self.world_size
        dist.all_gather_object(every, mine)
        differ = [r for r, other in enumerate(every) if other != every[0]]
        if differ:
            raise ValueError(
                f"{name}.fit runs data-parallel in {self.world_size} processes "
                "(torch.distributed is initialized) and needs the same X, y "
                "and sample_weight in every process, but process(es) "
                f"{differ} got different data than process 0. Pass the whole "
                "training set to fit in every process (each one trains on its "
                "share of every batch), or fit outside the process group."
            )

    def sync_linear_start(self, estimator, start: dict | None) -> dict | None:
        """Process 0's linear start on every process: the module's weights,
        the result :meth:`_start_from_linear_model` returned (``start``) and
        the penalty chosen (``wide_alpha_``)."""
        self.broadcast_tensors(estimator.net_.module_.state_dict().values())
        if start is not None:
            self.broadcast_tensors(start["state"].values())
        loss = None if start is None else float(start["valid_loss"])
        loss, estimator.wide_alpha_ = self.agree((loss, estimator.wide_alpha_))
        return None if start is None else {**start, "valid_loss": loss}

    @contextmanager
    def training(self, net, seed: int):
        """Train the skorch ``net`` data-parallel for the duration of the
        block (its ``partial_fit``); ``seed`` seeds the dropout of this
        process (a stream per rank). On success every process ends with
        process 0's weights. Afterwards the net has its own iterators and
        callbacks again and trains in this process alone."""
        module = net.module_
        device = torch.device(net.device)
        ids = None
        if device.type == "cuda":
            ids = [device.index if device.index is not None
                   else torch.cuda.current_device()]
        # also copies process 0's weights and buffers to every process. A
        # static graph: the parameters that get no gradient (the frozen wide
        # path reads its weights detached) are found in the first step
        ddp = DistributedDataParallel(
            module, device_ids=ids, static_graph=True, **_NO_BUFFER_SYNC
        )
        sync = StepSync(self)
        ddp.register_comm_hook(sync.scale, weighted_sum_hook)
        # before the validation score, the training guard and early stopping
        names = [name for name, _ in net.callbacks_]
        at = names.index("valid_score") if "valid_score" in names else 0
        net.callbacks_.insert(at, ("data_parallel", sync))
        iterators = net.iterator_train, net.iterator_valid
        net.iterator_train = partial(ShardedBatches.make, iterators[0], self, sync)
        net.iterator_valid = partial(ShardedValidation.make, iterators[1], self)
        net.data_parallel_ = partial(_forward, ddp)
        net.reseed(int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]))
        try:
            yield
            self.broadcast_tensors(module.state_dict().values())
        finally:
            del net.data_parallel_
            net.iterator_train, net.iterator_valid = iterators
            net.callbacks_.remove(("data_parallel", sync))


#: buffers are never changed by a forward pass: no sync at each step
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def _forward(ddp, x, **fit_params):
    """The training forward pass of a batch ``x`` through ``ddp``."""
    if isinstance(x, dict):
        return ddp(**x, **fit_params)
    return ddp(x, **fit_params)


@dataclass
class StepScale:
    """What :func:`weighted_sum_hook` multiplies this process's gradient
    by in the current step: ``W_r / W``."""

    value: float = 1.0


def weighted_sum_hook(state: StepScale, bucket):
    """DDP communication hook: sum ``state.value`` times each process's
    gradient over the processes (DDP's default hook takes their mean)."""
    buffer = bucket.buffer()
    buffer.mul_(state.value)
    work = dist.all_reduce(buffer, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


class ShardedValidation:
    """This process's validation batches: every ``world_size``-th batch of
    the (length-sorted) batches of ``iterator``, from the ``rank``-th on;
    a process may get none."""

    def __init__(self, iterator, group: DataParallel):
        self.iterator = iterator
        self.group = group

    @classmethod
    def make(cls, iterator_class, group, dataset, **kwargs):
        """The ``iterator_valid`` factory skorch calls during training."""
        return cls(iterator_class(dataset, **kwargs), group)

    def __len__(self) -> int:
        return len(range(self.group.rank, len(self.iterator), self.group.world_size))

    def __iter__(self):
        batches = self.iterator.batches()
        for rows in batches[self.group.rank :: self.group.world_size]:
            yield self.iterator.dataset.batch(rows)


class ShardedBatches:
    """This process's share of the global batches of a batch iterator.

    Iterates over ``iterator.batches()`` (the global batches, in the order
    every process draws) and yields rows ``rank::world_size`` of each. A
    global batch with no row for this process yields its first row as a
    stand-in (``sync.next_batch`` is told: its gradient counts zero).
    """

    def __init__(self, iterator, group: DataParallel, sync: StepSync):
        self.iterator = iterator
        self.group = group
        self.sync = sync

    @classmethod
    def make(cls, iterator_class, group, sync, dataset, **kwargs):
        """The ``iterator_train`` factory skorch calls during training."""
        return cls(iterator_class(dataset, **kwargs), group, sync)

    def __len__(self) -> int:
        return len(self.iterator)

    def __iter__(self):
        dataset = self.iterator.dataset
        for rows in self.iterator.batches():
            share = rows[self.group.rank :: self.group.world_size]
            self.sync.next_batch(dataset, rows, share)
            yield dataset.batch(share if len(share) else rows[:1])


class StepSync(Callback):
    """The per-step bookkeeping of a data-parallel fit (a skorch callback,
    placed before the validation score, the training guard and early
    stopping).

    Before each training step, this process's gradient scale ``W_r / W``
    is set (``scale``; both weights come from the data, which every process
    holds); after it, the global batch's loss ``sum_r (W_r / W) L_r``
    and size are recorded in place of this process's. At the end of an
    epoch, the validation loss of the whole split (the processes' summed
    batch losses times batch sizes, over their summed sizes) is recorded,
    and the validation outputs of every process are handed to the
    validation score: every process records the same values.
    """

    def __init__(self, group: DataParallel):
        self.group = group
        self.scale = StepScale()
        self.dataset_ = self.rows_ = self.share_ = None

    def next_batch(self, dataset, rows: np.ndarray, share: np.ndarray) -> None:
        """The next training batch is this process's ``share`` (possibly
        empty: a stand-in row) of the global batch ``rows`` of ``dataset``."""
        self.dataset_, self.rows_, self.share_ = dataset, rows, share

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        # both weights from the data every process holds: no communication
        total = _weight(net.criterion_, self.dataset_, self.rows_)
        mine = _weight(net.criterion_, self.dataset_, self.share_)
        self.scale.value = mine / total if total > 0 else 0.0

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if not training:
            return
        (value,) = self.group.all_reduce(
            [self.scale.value * float(loss.detach())], net.device
        )
        net.history.record_batch("train_loss", float(value))
        net.history.record_batch("train_batch_size", len(self.rows_))

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        batches = [b for b in net.history[-1]["batches"] if "valid_loss" in b]
        loss, size = self.group.all_reduce([
            sum(b["valid_loss"] * b["valid_batch_size"] for b in batches),
            sum(b["valid_batch_size"] for b in batches),
        ], net.device)
        loss = float(loss / size) if size > 0 else float("nan")
        before = [r["valid_loss"] for r in net.history[:-1] if "valid_loss" in r]
        net.history.record("valid_loss", loss)
        net.history.record("valid_loss_best", bool(loss < min(before, default=np.inf)))
        score = dict(net.callbacks_).get("valid_score")
        if score is not None:
            self._gather_predictions(score)

    def _gather_predictions(self, score) -> None:
        """Give the ``ValidationScore`` callback ``score`` the validation
        outputs, targets and weights of every process, so that it scores
        the whole validation split (in every process alike)."""

        def joined(parts):
            return torch.cat(parts).numpy() if parts else None

        mine = tuple(joined(p) for p in (score.y_pred_, score.y_true_, score.weight_))
        every = [None] * self.group.world_size
        dist.all_gather_object(every, mine)
        every = [e for e in every if e[0] is not None]
        score.y_pred_, score.y_true_, score.weight_ = (
            [torch.from_numpy(np.concatenate([e[i] for e in every]))]
            if every[0][i] is not None else []
            for i in range(3)
        )


def _weight(criterion, dataset, rows) -> float:
    """The total weight of ``rows`` of ``dataset`` in ``criterion``'s
    weighted mean loss: sample weights (1 without) times class weights."""
    y = torch.as_tensor(np.asarray(dataset.y[rows]))
    if dataset.sample_weight is None:
        weight = torch.ones(len(rows), dtype=torch.float64)
    else:
        weight = torch.as_tensor(dataset.sample_weight[rows], dtype=torch.float64)
    return float(effective_weight(criterion, y, weight).sum())


def begin(estimator, X, y, sample_weight, continuing: bool) -> DataParallel | None:
    """Start a fit of ``estimator`` on ``X``, ``y``, ``sample_weight``: None
    outside a process group of two or more processes. Otherwise check that
    every process has the same data, take process 0's seed (that of
    ``random_state=None`` differs per process) and return the setting."""
    group = process_group()
    if group is None:
        return None
    group.check_same_data(type(estimator).__name__, X, y, sample_weight)
    if not continuing:
        estimator._seed = group.agree(estimator._seed)
    return group


def training(group: DataParallel | None, net, seed: int):
    """:meth:`DataParallel.training` of ``group``; a block that changes
    nothing when ``group`` is None."""
    return nullcontext() if group is None else group.training(net, seed)
