"""Training sample order and randomness that depend only on (data seed, epoch, position).

`EpochSampler` yields sample ids `epoch * len(dataset) + i` (i from a seeded permutation of the
epoch, sharded over DDP ranks); training datasets draw their crop, flips and noise from
`sample_generator(seed, id)`. A batch is therefore the same whatever the number of workers,
and a run resumed mid-epoch (the sampler's `state_dict` goes into the checkpoint) sees exactly
the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler


def sample_generator(seed: int, sample_id: int) -> torch.Generator:
    """A CPU generator for one training sample, seeded from `(seed, sample_id)` (both >= 0)."""
    # torch's CPU generator keeps only 32 bits of its seed; SeedSequence mixes both numbers in.
    state = np.random.SeedSequence([seed, sample_id]).generate_state(1, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]))


class EpochSampler(DistributedSampler):
    """Shuffled sample ids per epoch (the permutation seeded by `seed` and the epoch, as in
    `DistributedSampler`, whole batches only), resumable mid-epoch.

    Lightning calls `set_epoch` at every epoch start; the owner counts trained batches in
    `batches_done`, and the next iteration of the same epoch skips them. `num_replicas`/`rank`:
    the DDP world size and this process's rank (1 and 0 on a single device).
    """

    def __init__(self, dataset: Sized, batch_size: int, seed: int = 0, num_replicas: int = 1,
                 rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed,
                         drop_last=True)
        self.batch_size = batch_size
        self.num_samples -= self.num_samples % batch_size
        self.total_size = self.num_samples * num_replicas
        self.batches_done = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.num_samples // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.batches_done = 0
        super().set_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = list(super().__iter__())[self.batches_done * self.batch_size:]
        return iter([self.epoch * n + i for i in order])

    def state_dict(self) -> dict[str, int]:
        """Where the next batch comes from: `{"epoch", "batches_done"}` (a finished epoch
        points at the start of the next one)."""
        if self.batches_done >= self.batches_per_epoch:
            return {"epoch": self.epoch + 1, "batches_done": 0}
        return {"epoch": self.epoch, "batches_done": self.batches_done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.batches_done = int(state["epoch"]), int(state["batches_done"])


class ResumableLoader(DataLoader):
    """A DataLoader over an `EpochSampler` whose position Lightning stores in checkpoints (it
    then knows a mid-epoch resume continues where the run stopped)."""

    def state_dict(self) -> dict[str, int]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.load_state_dict(state)
