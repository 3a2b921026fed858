"""Validate register rows in chunks, in forked worker processes when the file is large.

Validation (address parsing, ID checks, HMAC, AES-GCM) is pure Python and CPU-bound; the
main process meanwhile reads the file, streams COPY to the database and writes the report.
Workers are forked, so they inherit the :class:`~.rows.RowValidator` (gazetteer, vault,
known estates) without pickling it; each keeps its own parse caches. Chunks come back in
file order, and at most ``3 x workers`` chunks are in flight, so memory stays flat.
A worker that dies (killed, out of memory) fails the import with a clear error; nothing
has been applied then, since applying starts only after the last chunk.

Example::

    validation = ChunkValidation(validator, workers=2)
    for chunk, checked in validation.results(chunks):   # chunk: [(line, cells), ...]
        copy.write(checked.staged)                      # COPY text of accepted rows
        for index, reasons in checked.rejects:
            line, cells = chunk[index]
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from cimhouse.errors import CimhouseError
from cimhouse.importers.register.rows import RowValidator

Chunk = list[tuple[int, list[str]]]
MAX_WORKERS = 4
IN_FLIGHT_PER_WORKER = 3

_worker_validator: RowValidator | None = None  # set in each forked worker


@dataclass
class CheckedChunk:
    """Accepted rows as COPY text, and the rejected rows' indexes with their reasons."""

    staged: str = ""
    accepted: int = 0
    rejects: list[tuple[int, list[str]]] = field(default_factory=list)


def validate_chunk(validator: RowValidator, chunk: Chunk) -> CheckedChunk:
    """Validate the rows of one chunk (in this process)."""
    lines: list[str] = []
    rejects: list[tuple[int, list[str]]] = []
    validate = validator.validate
    for index, (line, cells) in enumerate(chunk):
        staged, reasons = validate(line, cells)
        if staged is None:
            rejects.append((index, reasons))
        else:
            lines.append(staged)
    return CheckedChunk("".join(lines), len(lines), rejects)


def default_workers() -> int:
    """Worker processes for a large file: one per core available, at most MAX_WORKERS."""
    return min(MAX_WORKERS, len(os.sched_getaffinity(0)))


def _adopt(validator: RowValidator) -> None:
    global _worker_validator
    _worker_validator = validator


def _validate_in_worker(chunk: Chunk) -> CheckedChunk:
    assert _worker_validator is not None, "worker started without a validator"
    return validate_chunk(_worker_validator, chunk)


class ChunkValidation:
    """Validates chunks in order, inline (``workers=0``) or in forked worker processes."""

    def __init__(self, validator: RowValidator, workers: int) -> None:
        self.validator = validator
        self.workers = workers

    def results(self, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, CheckedChunk]]:
        if self.workers <= 0:
            for chunk in chunks:
                yield chunk, validate_chunk(self.validator, chunk)
            return
        context = multiprocessing.get_context("fork")
        pending: deque[tuple[Chunk, Future[CheckedChunk]]] = deque()
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_adopt,
                                 initargs=(self.validator,)) as pool:
            try:
                for chunk in chunks:
                    pending.append((chunk, pool.submit(_validate_in_worker, chunk)))
                    if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                        done, future = pending.popleft()
                        yield done, future.result()
                while pending:
                    done, future = pending.popleft()
                    yield done, future.result()
            except BrokenProcessPool:
                raise CimhouseError("a validation worker process died (killed or out of "
                                    "memory); nothing was applied, run the import again") from None
            finally:
                for _, future in pending:
                    future.cancel()


__all__ = ["CheckedChunk", "ChunkValidation", "default_workers", "validate_chunk"]
