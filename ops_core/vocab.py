"""Closed vocabularies of the domain. Stored as their string values; labels come from ops_core.i18n."""
from __future__ import annotations

from enum import StrEnum

NO_CSM = "unassigned"      # csm segment of a customer without a CSM
UNSCORED = "unscored"      # tier segment of a customer never snapshotted by the period's end


class Role(StrEnum):
    viewer = "viewer"
    editor = "editor"
    admin = "admin"


class Industry(StrEnum):
    manufacturing = "manufacturing"
    construction = "construction"
    logistics = "logistics"
    energy = "energy"
    retail = "retail"
    healthcare = "healthcare"
    automotive = "automotive"
    chemicals = "chemicals"
    electronics = "electronics"
    food = "food"


class Region(StrEnum):
    east = "east_china"
    north = "north_china"
    south = "south_china"
    central = "central_china"
    southwest = "southwest_china"
    northwest = "northwest_china"
    northeast = "northeast_china"
    overseas = "overseas"


class SizeBand(StrEnum):
    micro = "micro"          # < 50 employees
    small = "small"          # 50 - 249
    medium = "medium"        # 250 - 999
    large = "large"          # 1,000 - 4,999
    enterprise = "enterprise"  # 5,000 +


class PartnershipLevel(StrEnum):
    basic = "basic"
    silver = "silver"
    gold = "gold"
    strategic = "strategic"


class DemandType(StrEnum):
    standard = "standard"
    configured = "configured"
    customised = "customised"
    platform = "platform"


class CsmLevel(StrEnum):
    senior = "senior"
    experienced = "experienced"
    ordinary = "ordinary"


class ContactRole(StrEnum):
    user = "user"
    boss = "boss"            # decision-making boss
    veto_head = "veto_head"  # department head with a veto


class ProductLine(StrEnum):
    mes = "MES"
    eam = "EAM"
    scm = "SCM"
    qms = "QMS"
    iot = "IoT"


class ContractKind(StrEnum):
    new = "new"
    renewal = "renewal"
    expansion = "expansion"


class FeedbackChannel(StrEnum):
    phone = "phone"
    wechat = "wechat"
    email = "email"
    onsite = "onsite"
    ticket = "ticket"


class FeedbackType(StrEnum):
    bug = "bug"
    usage_question = "usage_question"
    management_problem = "management_problem"
    feature_request = "feature_request"
    sales_stuck_point = "sales_stuck_point"


class FeedbackStatus(StrEnum):
    new = "new"
    triaged = "triaged"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Importance(StrEnum):
    nice_to_have = "nice_to_have"
    important = "important"
    blocker = "blocker"


class ProductArea(StrEnum):
    reports = "reports"
    permissions = "permissions"
    integration = "integration"
    mobile = "mobile"
    workflow = "workflow"
    billing = "billing"
    dashboard = "dashboard"


class DemandSource(StrEnum):
    customer_feedback = "customer_feedback"
    market = "market"
    competitor = "competitor"
    sales_stuck_point = "sales_stuck_point"
    internal = "internal"


class DemandStatus(StrEnum):
    backlog = "backlog"
    evaluating = "evaluating"
    planned = "planned"
    in_development = "in_development"
    testing = "testing"
    released = "released"
    rejected = "rejected"


class ReleaseStatus(StrEnum):
    planned = "planned"
    released = "released"


class EventFormat(StrEnum):
    offline = "offline"
    online = "online"


class EventKind(StrEnum):
    exhibition = "exhibition"
    supplier_conference = "supplier_conference"
    salon = "salon"
    open_class = "open_class"
    live_stream = "live_stream"
    webinar = "webinar"
    other = "other"


class EventPurpose(StrEnum):
    """What an event is for; an event may have several (stored comma-separated in events.purposes)."""

    acquisition = "acquisition"
    promotion = "promotion"
    conversion = "conversion"


class EventOrganisation(StrEnum):
    sponsored = "sponsored"
    joint = "joint"
    self_hosted = "self_hosted"


class CostCategory(StrEnum):
    venue = "venue"
    sponsorship = "sponsorship"
    travel = "travel"
    materials = "materials"
    advertising = "advertising"
    staff = "staff"
    other = "other"


class TitleLevel(StrEnum):
    staff = "staff"
    manager = "manager"
    director = "director"
    executive = "executive"


class Grain(StrEnum):
    week = "week"
    month = "month"
    quarter = "quarter"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)
