"""The CIM relation model: typed SQLAlchemy 2 + GeoAlchemy2 models.

Start with :class:`Region` (levels 1-5), :class:`Estate` (level 6), :class:`Building`,
:class:`House`, :class:`Person` and :class:`PersonHouse`. Large tables carry ``county`` (the
Citus distribution column); geometry is stored in CGCS2000 (EPSG:4490, lon/lat).
The schema itself is created by the Alembic migrations in ``migrations/``, never by
``create_all``.
"""

from cimhouse.schema.base import NAMING_CONVENTION, SRID, Base
from cimhouse.schema.built import Building, Estate, House, Space, Storey
from cimhouse.schema.facility import Facility
from cimhouse.schema.household import Household, HouseholdMember
from cimhouse.schema.operations import ApiPrincipal, AuditLog, ImportRun, Job
from cimhouse.schema.people import Person, PersonHouse
from cimhouse.schema.programme import (
    FutureProject,
    FutureProjectEstate,
    FutureProjectRegion,
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

metadata = Base.metadata

__all__ = [
    "NAMING_CONVENTION", "SRID", "ApiPrincipal", "AuditLog", "Base", "Building", "ChangeFeedMark",
    "ChangeLog",
    "CodeCounter", "CodeLineage", "CodeRegistry", "Estate", "Facility", "FutureProject",
    "FutureProjectEstate", "FutureProjectRegion", "GapProject", "House", "Household",
    "HouseholdMember", "ImportRun", "Job", "Person", "PersonHouse", "Region",
    "ServiceIndexSurvey", "Space", "Storey", "metadata",
]
