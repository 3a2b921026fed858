"""The one shape of an importer's result: rows read, accepted and rejected (with the rejected
rows themselves, for the bilingual report), the import run and the report file; importers
that add or update objects count those (:class:`UpsertResult`).

``summary()`` is what the CLI prints and what ``import_run.summary`` keeps: always ``read``,
``accepted``, ``rejected`` first, then the importer's own counts (:meth:`ImportResult.counts`),
then ``import_run_id`` and ``report``.

Example::

    >>> result = UpsertResult(read=3, added=1, updated=1)
    >>> result.summary()
    {'read': 3, 'accepted': 3, 'rejected': 0, 'added': 1, 'updated': 1, 'unchanged': 1, \
'import_run_id': None, 'report': None}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cimhouse.importers.rejects import RejectedRow


@dataclass
class ImportResult:
    """Every input row is accounted for: ``accepted + len(rejected) == read``."""

    read: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    import_run_id: int | None = None
    report_path: Path | None = None

    @property
    def accepted(self) -> int:
        return self.read - len(self.rejected)

    def counts(self) -> dict[str, object]:
        """The importer's own figures, printed between ``rejected`` and ``import_run_id``."""
        return {}

    def summary(self) -> dict[str, object]:
        return {"read": self.read, "accepted": self.accepted, "rejected": len(self.rejected),
                **self.counts(), "import_run_id": self.import_run_id,
                "report": str(self.report_path) if self.report_path else None}


@dataclass
class UpsertResult(ImportResult):
    """An import that adds new objects and updates known ones; the rest were unchanged."""

    added: int = 0
    updated: int = 0

    @property
    def unchanged(self) -> int:
        return self.accepted - self.added - self.updated

    def counts(self) -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}
