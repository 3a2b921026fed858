"""Who is calling: a :class:`Principal` with a scope and a set of roles.

Roles imply others (``admin`` implies all; ``pii_reader`` implies ``person_reader``;
``person_reader``, ``coder``, ``importer`` and ``programme`` imply ``reader``), so checks ask
for the weakest role that suffices.

Example::

    >>> p = Principal(id=1, name="gis", scope=parse_scope("330402"),
    ...               roles=frozenset({Role.PII_READER}))
    >>> p.has(Role.PERSON_READER), p.has(Role.CODER)
    (True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cimhouse.errors import InvalidInput, PermissionDenied
from cimhouse.i18n import _
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope

IMPLIED_ROLES: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.PII_READER: frozenset({Role.PII_READER, Role.PERSON_READER, Role.READER}),
    Role.PERSON_READER: frozenset({Role.PERSON_READER, Role.READER}),
    Role.CODER: frozenset({Role.CODER, Role.READER}),
    Role.IMPORTER: frozenset({Role.IMPORTER, Role.READER}),
    Role.PROGRAMME: frozenset({Role.PROGRAMME, Role.READER}),
    Role.READER: frozenset({Role.READER}),
}


def parse_roles(raw: Iterable[str]) -> frozenset[Role]:
    """Validate role names (``reader``, ``person_reader``, ...); unknown names are refused."""
    roles: set[Role] = set()
    for name in raw:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidInput(_("unknown role {name!r}; roles are: {allowed}", name=name,
                                 allowed=allowed)) from None
    if not roles:
        raise InvalidInput(_("a principal needs at least one role"))
    return frozenset(roles)


@dataclass(frozen=True)
class Principal:
    """An authenticated API client: its id and name, its scope and its granted roles."""

    id: int
    name: str
    scope: Scope
    roles: frozenset[Role]

    @property
    def effective_roles(self) -> frozenset[Role]:
        out: set[Role] = set()
        for role in self.roles:
            out |= IMPLIED_ROLES[role]
        return frozenset(out)

    def has(self, role: Role) -> bool:
        return role in self.effective_roles

    def require(self, role: Role) -> None:
        """Raise :class:`PermissionDenied` unless the principal holds ``role`` (or better)."""
        if not self.has(role):
            raise PermissionDenied(_("this operation needs the {role} role", role=role.value))

    @property
    def actor(self) -> str:
        """How the principal appears in audit_log, change_log and job.requested_by."""
        return f"api:{self.name}"
