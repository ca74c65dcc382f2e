"""Image collections as WebDataset tar shards, streamed so that each DDP rank reads its own part, resumably.

A collection is a folder of ``shard-NNNNNN.tar`` files (WebDataset layout: ``<key>.<ext>`` members, readable by any
WebDataset pipeline) and ``shards.json``, the sample count of every shard. Readers open that small index and the
shards they need, never a listing of the images.

The order of an epoch: the shards are permuted, and so is each shard's content, from (seed, epoch); every process
computes the same sequence of all N samples. Rank r of W reads the r-th of W contiguous slices of N // W samples
(the N % W samples left at the end wait for another epoch's order). Within a rank, DataLoader worker w reads a
contiguous run of whole batches, worker 0 getting the first and longest run; since the DataLoader takes batches
from its workers in turn, the rank's j-th batch is then worker j % workers' (j // workers)-th. A position in an
epoch is therefore just the number of batches delivered, which :class:`ResumableShardLoader` saves in checkpoints;
on resuming, the runs are handed to the new workers rotated so that the first one asked holds the batch due next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
import webdataset
from torch.utils.data import IterableDataset, get_worker_info

from datamodules.resumable import ResumableLoader

INDEX_NAME = "shards.json"
SHARD_PATTERN = "shard-{:06d}.tar"
SAMPLES_PER_SHARD = 1000


@dataclass(frozen=True)
class ShardIndex:
    """The shards of a collection, in writing order, and their sample counts."""

    root: Path
    names: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @classmethod
    def load(cls, root: str | Path) -> ShardIndex:
        path = Path(root) / INDEX_NAME
        try:
            shards = json.loads(path.read_text())["shards"]
            index = cls(Path(root), tuple(shard["name"] for shard in shards), tuple(shard["count"] for shard in shards))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path} not found: {root} is not a shard collection") from None
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is malformed: {error!r}") from None
        if index.total == 0:
            raise ValueError(f"{path} lists no samples")
        return index

    def save(self) -> None:
        shards = [{"name": name, "count": count} for name, count in zip(self.names, self.counts)]
        (self.root / INDEX_NAME).write_text(json.dumps({"format": "webdataset", "shards": shards}, indent=1))


def is_shard_collection(root: str | Path) -> bool:
    return (Path(root) / INDEX_NAME).is_file()


def write_shards(
    samples: Iterable[tuple[str, bytes]], root: str | Path, samples_per_shard: int = SAMPLES_PER_SHARD
) -> ShardIndex:
    """Writes ``(extension, encoded image)`` pairs, in the order given, into shards under ``root``; returns the index.

    Shuffle the samples beforehand: a shard's samples end up in the same batches.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    counts: list[int] = []
    writer = None
    for number, (extension, data) in enumerate(samples):
        if number % samples_per_shard == 0:
            if writer is not None:
                writer.close()
            names.append(SHARD_PATTERN.format(len(names)))
            counts.append(0)
            writer = webdataset.TarWriter(str(root / names[-1]), encoder=False)
        writer.write({"__key__": f"{number:09d}", extension: data})
        counts[-1] += 1
    if writer is not None:
        writer.close()
    index = ShardIndex(root, tuple(names), tuple(counts))
    index.save()
    return index


def read_shard(path: Path) -> list[tuple[str, bytes]]:
    """The ``(key, encoded image)`` samples of one shard, in stored order."""
    samples = []
    for sample in webdataset.tarfile_samples([{"url": str(path)}]):
        payload = [value for name, value in sample.items() if not name.startswith("__")]
        if len(payload) != 1:
            raise ValueError(f"{path}: sample {sample['__key__']} holds {len(payload)} files, expected one image")
        samples.append((sample["__key__"], payload[0]))
    return samples


def worker_slices(samples: int, batch_size: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, stop)`` runs of whole batches (the last one may be partial), the longest first."""
    batches = -(-samples // batch_size)
    base, extra = divmod(batches, workers)
    slices, start = [], 0
    for worker in range(workers):
        stop = min(start + (base + (worker < extra)) * batch_size, samples)
        slices.append((start, stop))
        start = stop
    return slices


def batches_taken_from(worker: int, workers: int, delivered: int) -> int:
    """How many of the first ``delivered`` batches came from ``worker`` (the DataLoader takes them in turn)."""
    return max(0, -(-(delivered - worker) // workers))


class ShardStream(IterableDataset):
    """This rank's share of one epoch of a shard collection; subclasses turn ``(key, bytes)`` into items.

    ``batch_size`` and ``drop_last`` must be the DataLoader's (:class:`ResumableShardLoader` takes them from here).
    The epoch and the batches already delivered are set by that loader through shared memory, so that persistent
    DataLoader workers see them.
    """

    def __init__(
        self,
        root: str | Path,
        batch_size: int,
        *,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        self.index = ShardIndex.load(root)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.seed = seed
        self._position = torch.zeros(2, dtype=torch.long).share_memory_()

    def __len__(self) -> int:
        """Samples this rank reads per epoch."""
        return self.index.total // self.world_size

    def set_position(self, epoch: int, delivered_batches: int) -> None:
        self._position[0], self._position[1] = epoch, delivered_batches

    def decode(self, key: str, data: bytes) -> Any:
        return key, data

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        epoch, delivered = self._position.tolist()
        # A resumed DataLoader asks its worker 0 first: that worker takes the run whose batch is due next.
        run = (worker + delivered) % workers
        # A dropped last batch is left out of the runs, so that every run holds whole batches only.
        batched = len(self) - len(self) % self.batch_size if self.drop_last else len(self)
        start, stop = worker_slices(batched, self.batch_size, workers)[run]
        start += batches_taken_from(run, workers, delivered) * self.batch_size
        offset = self.rank * len(self)
        for key, data in self._samples(epoch, offset + start, offset + stop):
            yield self.decode(key, data)

    def _samples(self, epoch: int, first: int, last: int) -> Iterator[tuple[str, bytes]]:
        """Samples ``[first, last)`` of the epoch's sequence, reading only the shards that hold them."""
        shard_start = 0
        for shard in np.random.default_rng([self.seed, epoch]).permutation(len(self.index.names)):
            count = self.index.counts[shard]
            low, high = max(first, shard_start), min(last, shard_start + count)
            if low < high:
                samples = self._read(shard)
                order = np.random.default_rng([self.seed, epoch, shard]).permutation(count)
                for position in order[low - shard_start:high - shard_start]:
                    yield samples[position]
            shard_start += count
            if shard_start >= last:
                return

    def _read(self, shard: int) -> list[tuple[str, bytes]]:
        path = self.index.root / self.index.names[shard]
        samples = read_shard(path)
        if len(samples) != self.index.counts[shard]:
            raise ValueError(f"{path} holds {len(samples)} samples but {INDEX_NAME} lists {self.index.counts[shard]}")
        return samples


class ResumableShardLoader(ResumableLoader):
    """A DataLoader over a :class:`ShardStream` whose ``state_dict`` (saved by Lightning in checkpoints) records the
    epoch and the batches delivered, so that a resumed run continues with the next batch.
    """

    def __init__(self, dataset: ShardStream, **kwargs):
        super().__init__(dataset, batch_size=dataset.batch_size, drop_last=dataset.drop_last, **kwargs)

    def _set_position(self, epoch: int, delivered_batches: int) -> None:
        self.dataset.set_position(epoch, delivered_batches)

    def _layout(self) -> dict[str, int]:
        """What the order of batches depends on besides the epoch."""
        dataset = self.dataset
        return {"num_workers": self.num_workers, "batch_size": dataset.batch_size, "drop_last": int(dataset.drop_last),
                "world_size": dataset.world_size, "seed": dataset.seed}
