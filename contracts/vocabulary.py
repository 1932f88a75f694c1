"""Stable ASCII codes shared by every API, event and test (DOMAIN.md, "Shared vocabulary")."""

from enum import StrEnum


class Channel(StrEnum):
    HOTLINE = "hotline"
    WECHAT = "wechat"
    GRID = "grid"
    PETITION = "petition"
    OPEN311 = "open311"


class Category(StrEnum):
    NEIGHBOUR = "neighbour"
    FAMILY = "family"
    INHERITANCE = "inheritance"
    HOUSING_SITE = "housing_site"
    LAND_BOUNDARY = "land_boundary"
    LAND_REQUISITION = "land_requisition"
    WAGE_ARREARS = "wage_arrears"
    TRAFFIC_ACCIDENT = "traffic_accident"
    MEDICAL = "medical"
    CONTRACT_DEBT = "contract_debt"
    PROPERTY_MANAGEMENT = "property_management"
    ENVIRONMENT = "environment"
    CONSUMER = "consumer"
    OTHER = "other"


class RiskFlag(StrEnum):
    VIOLENCE_THREAT = "violence_threat"
    WEAPON = "weapon"
    SELF_HARM = "self_harm"
    MINOR_AT_RISK = "minor_at_risk"
    CRIMINAL_ESCALATION = "criminal_escalation"
    GROUP_INCIDENT = "group_incident"


class PartyKind(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    ENTERPRISE = "enterprise"
    COLLECTIVE = "collective"
    GOVERNMENT = "government"


class HouseholdColor(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Tier(StrEnum):
    GRID = "grid"
    VILLAGE = "village"
    TOWN = "town"
    COUNTY = "county"
    PREFECTURE = "prefecture"
    """A prefecture or city over several counties (州/市), where a deployment spans one."""


class CaseState(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_MEDIATION = "in_mediation"
    RESOLVED = "resolved"
    FAILED = "failed"
    REFERRED = "referred"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"


class AlertKind(StrEnum):
    ESCALATION = "escalation"
    DEADLINE_BREACH = "deadline_breach"
    URGENT_RISK = "urgent_risk"
    UNIT_SATURATED = "unit_saturated"
    REBOUND = "rebound"


class Priority(StrEnum):
    NORMAL = "normal"
    ELEVATED = "elevated"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Higher is more pressing; queues sort by it."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {
    Priority.NORMAL: 0,
    Priority.ELEVATED: 1,
    Priority.HIGH: 2,
    Priority.URGENT: 3,
}


class EscalationReason(StrEnum):
    FAILED = "failed"
    ACCEPTANCE_BREACH = "acceptance_deadline_breach"
    RESOLUTION_BREACH = "resolution_deadline_breach"


class ReferralTarget(StrEnum):
    COURT = "court"
    ARBITRATION = "arbitration"
    POLICE = "police"
    PETITION_BUREAU = "petition_bureau"


class AgreementForm(StrEnum):
    ORAL = "oral"
    WRITTEN = "written"


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY = "basically"
    DISSATISFIED = "dissatisfied"


class RoutingReason(StrEnum):
    """Why a routing step chose its tier; the step's `reason_params` hold the facts it names."""

    CROSS_COUNTY = "cross_county"
    CROSS_TOWN = "cross_town"
    CROSS_VILLAGE = "cross_village"
    AMOUNT = "amount"
    PEOPLE = "people"
    RISK_FLAG = "risk_flag"
    PARTY_KIND = "party_kind"
    CATEGORY = "category"
    REBOUND = "rebound"
    PLACE_UNCLEAR = "place_unclear"
    PLACE_NOT_FOUND = "place_not_found"
    VILLAGE_DEFAULT = "village_default"
    ESCALATED = "escalated"


class AlertTitle(StrEnum):
    """What an alert says, as a code; the alert's `details` hold the facts it names."""

    ESCALATED = "escalated"
    ESCALATED_AT_TOP = "escalated_at_top"
    ACCEPTANCE_MISSED = "acceptance_missed"
    RESOLUTION_MISSED = "resolution_missed"
    URGENT_RISK = "urgent_risk"
    UNIT_SATURATED = "unit_saturated"
    REBOUND = "rebound"
