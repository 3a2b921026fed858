"""Validate register rows in chunks, in forked worker processes when the file is large.

Parsing CSV blocks and validation (address parsing, ID checks, HMAC, AES-GCM) are pure
Python and CPU-bound; the main process meanwhile reads raw blocks of the file, streams
COPY to the database and writes the report.
Workers are forked, so they inherit the :class:`~.rows.RowValidator` (gazetteer, vault,
known estates) without pickling it; each keeps its own parse caches. Chunks come back in
file order, and at most ``3 x workers`` chunks are in flight, so memory stays flat.
A worker that dies (killed, out of memory) fails the import with a clear error; nothing
has been applied then, since applying starts only after the last chunk.

Example::

    validation = ChunkValidation(validator, workers=2)
    for checked in validation.results(table.chunks()):
        copy.write(checked.staged)                      # COPY text of accepted rows
        for line, cells, reasons in checked.rejects:
            ...
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import resource
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from cimhouse.errors import CimhouseError
from cimhouse.i18n import _
from cimhouse.importers.register.read_table import Chunk, is_blank
from cimhouse.importers.register.rows import RowValidator

MAX_WORKERS = 4
IN_FLIGHT_PER_WORKER = 3

_PR_SET_PDEATHSIG = 1
_worker_validator: RowValidator | None = None  # set in each forked worker


@dataclass
class CheckedChunk:
    """How the rows of a chunk ended: accepted rows as COPY text (UTF-8), rejected rows
    with their cells and reasons; blank rows and headers repeated mid-file are not read."""

    staged: bytes = b""
    read: int = 0
    accepted: int = 0
    blank_lines: int = 0
    repeated_headers: int = 0
    rejects: list[tuple[int, list[str], list[str]]] = field(default_factory=list)
    worker_peak_kb: int = 0  # max resident set of the worker process that did it (0: inline)


def validate_chunk(validator: RowValidator, chunk: Chunk) -> CheckedChunk:
    """Parse (if raw) and validate the rows of one chunk, in this process."""
    checked = CheckedChunk()
    lines: list[str] = []
    validate = validator.validate
    for line, cells in chunk.parsed():
        if is_blank(cells):
            checked.blank_lines += 1
            continue
        if validator.is_repeated_header(cells):
            checked.repeated_headers += 1
            continue
        staged, reasons = validate(line, cells)
        if staged is None:
            checked.rejects.append((line, cells, reasons))
        else:
            lines.append(staged)
    checked.accepted = len(lines)
    checked.read = checked.accepted + len(checked.rejects)
    # bytes: they cross the process pipe and go to COPY without being transcoded again
    checked.staged = "".join(lines).encode("utf-8")
    return checked


def default_workers() -> int:
    """Worker processes for a large file: one per core available, at most MAX_WORKERS."""
    return min(MAX_WORKERS, len(os.sched_getaffinity(0)))


def _adopt(validator: RowValidator, parent: int) -> None:
    global _worker_validator
    _worker_validator = validator
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive its import when that is killed (SIGKILL runs no cleanup,
    and a worker waiting for its next chunk would wait forever)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent-pid check below still helps
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _validate_in_worker(chunk: Chunk) -> CheckedChunk:
    assert _worker_validator is not None, "worker started without a validator"
    checked = validate_chunk(_worker_validator, chunk)
    checked.worker_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return checked


class ChunkValidation:
    """Validates chunks in order, inline (``workers=0``) or in forked worker processes."""

    def __init__(self, validator: RowValidator, workers: int) -> None:
        self.validator = validator
        self.workers = workers

    def results(self, chunks: Iterable[Chunk]) -> Iterator[CheckedChunk]:
        if self.workers <= 0:
            for chunk in chunks:
                yield validate_chunk(self.validator, chunk)
            return
        context = multiprocessing.get_context("fork")
        pending: deque[Future[CheckedChunk]] = deque()
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_adopt,
                                 initargs=(self.validator, os.getpid())) as pool:
            try:
                for chunk in chunks:
                    pending.append(pool.submit(_validate_in_worker, chunk))
                    if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            except BrokenProcessPool:
                raise CimhouseError(_("a validation worker process died (killed or out of "
                                      "memory); nothing was applied, run the import "
                                      "again")) from None
            finally:
                for future in pending:
                    future.cancel()


__all__ = ["CheckedChunk", "ChunkValidation", "default_workers", "validate_chunk"]
