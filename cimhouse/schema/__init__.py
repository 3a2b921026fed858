"""The CIM relation model: typed SQLAlchemy 2 + GeoAlchemy2 models.

Start with :class:`Region` (levels 1-5), :class:`Estate` (level 6), :class:`Building`,
:class:`House`, :class:`Person` and :class:`PersonHouse`. Large tables carry ``county`` (the
Citus distribution column); geometry is stored in CGCS2000 (EPSG:4490, lon/lat).
The schema itself is created by the Alembic migrations in ``migrations/``, never by
``create_all``.

Importing a model module registers only that module's models; :func:`load_models` imports
them all, and runs by itself before SQLAlchemy configures the mappers (an event in
:mod:`cimhouse.schema.base`) and on the first name read from this package. The package's names
load on first use, so that :mod:`cimhouse.schema.vocab` imports without SQLAlchemy (the CLI's
startup). A new model module needs no registration here; a new exported name goes into both
lists below.
"""

import importlib
import pkgutil
from typing import TYPE_CHECKING

from cimhouse.lazy import lazy_exports

if TYPE_CHECKING:
    from cimhouse.schema.base import NAMING_CONVENTION, SRID, Base, metadata
    from cimhouse.schema.built import Building, Estate, House, Space, Storey
    from cimhouse.schema.delivery import Delivery, Webhook
    from cimhouse.schema.facility import Facility
    from cimhouse.schema.household import Household, HouseholdMember
    from cimhouse.schema.operations import ApiPrincipal, AuditLog, ImportRun, Job
    from cimhouse.schema.people import Person, PersonHouse
    from cimhouse.schema.programme import (
        FutureProject,
        FutureProjectEstate,
        FutureProjectRegion,
        FutureProjectScenario,
        GapProject,
        ServiceIndexSurvey,
    )
    from cimhouse.schema.region import Region
    from cimhouse.schema.registry import (
        ChangeFeedMark,
        ChangeLog,
        CodeCounter,
        CodeLineage,
        CodeRegistry,
    )
    from cimhouse.schema.safety import Device, SafetyAlert


def load_models() -> None:
    """Import every model module of the package (all tables into ``Base.metadata``)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


lazy_exports(__name__, {
    "ApiPrincipal": "cimhouse.schema.operations",
    "AuditLog": "cimhouse.schema.operations",
    "Base": "cimhouse.schema.base",
    "Building": "cimhouse.schema.built",
    "ChangeFeedMark": "cimhouse.schema.registry",
    "ChangeLog": "cimhouse.schema.registry",
    "CodeCounter": "cimhouse.schema.registry",
    "CodeLineage": "cimhouse.schema.registry",
    "CodeRegistry": "cimhouse.schema.registry",
    "Delivery": "cimhouse.schema.delivery",
    "Device": "cimhouse.schema.safety",
    "Estate": "cimhouse.schema.built",
    "Facility": "cimhouse.schema.facility",
    "FutureProject": "cimhouse.schema.programme",
    "FutureProjectEstate": "cimhouse.schema.programme",
    "FutureProjectRegion": "cimhouse.schema.programme",
    "FutureProjectScenario": "cimhouse.schema.programme",
    "GapProject": "cimhouse.schema.programme",
    "Household": "cimhouse.schema.household",
    "HouseholdMember": "cimhouse.schema.household",
    "House": "cimhouse.schema.built",
    "ImportRun": "cimhouse.schema.operations",
    "Job": "cimhouse.schema.operations",
    "NAMING_CONVENTION": "cimhouse.schema.base",
    "Person": "cimhouse.schema.people",
    "PersonHouse": "cimhouse.schema.people",
    "Region": "cimhouse.schema.region",
    "SafetyAlert": "cimhouse.schema.safety",
    "ServiceIndexSurvey": "cimhouse.schema.programme",
    "SRID": "cimhouse.schema.base",
    "Space": "cimhouse.schema.built",
    "Storey": "cimhouse.schema.built",
    "Webhook": "cimhouse.schema.delivery",
    "metadata": "cimhouse.schema.base",
}, on_first_use=load_models)


__all__ = [
    "NAMING_CONVENTION", "SRID", "ApiPrincipal", "AuditLog", "Base", "Building", "ChangeFeedMark",
    "ChangeLog",
    "CodeCounter", "CodeLineage", "CodeRegistry", "Delivery", "Device", "Estate", "Facility",
    "FutureProject",
    "FutureProjectEstate", "FutureProjectRegion", "FutureProjectScenario", "GapProject",
    "House", "Household",
    "HouseholdMember", "ImportRun", "Job", "Person", "PersonHouse", "Region",
    "SafetyAlert", "ServiceIndexSurvey", "Space", "Storey", "Webhook",
    "metadata",
]
