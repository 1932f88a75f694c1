"""Pure normalisation of every channel's report into the shared Dispute shape, and the small
arithmetic of tracking numbers. No I/O here."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from contracts.events import Dispute, DisputeReported, Party, deterministic_event_id
from contracts.registry import Registry
from contracts.vocabulary import Category, Channel, PartyKind, RiskFlag
from intake.models import (
    CallerIn,
    GridReport,
    HotlineReport,
    PartyIn,
    PetitionReport,
    WeChatMessage,
)
from intake.places import Placement, by_wechat_group, resolve
from intake.wechat import Reading, Verdict
from services.privacy import Sealer, redact_identifiers

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Tracking numbers and duplicate windows count days as the county does (no DST in China)."""
PETITIONER = "[信访人]"


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def tracking_number(prefix: str, day: date, number: int) -> str:
    return f"{prefix}-{day:%Y%m%d}-{number:06d}"


@dataclass(frozen=True)
class Identity:
    """What intake gives a report before anything is written: ids and the time of receipt."""

    dispute_id: str
    tracking_number: str
    received_at: datetime


@dataclass(frozen=True)
class Draft:
    """A normalised report: the public dispute and what only intake keeps (sealed)."""

    dispute: Dispute
    private: dict[str, Any] = field(default_factory=dict)


def seal_party(party: PartyIn, sealer: Sealer) -> Party:
    """The phone leaves intake only as a hash (for matching) and a sealed envelope."""
    return Party(
        kind=party.kind,
        name=party.name,
        village_id=party.village_id,
        household_id=party.household_id,
        household_color=party.household_color,
        phone_hash=sealer.hash_identifier(party.phone) if party.phone else None,
        sealed_contact=sealer.seal({"phone": party.phone}) if party.phone else None,
    )


def _sealed_caller(caller: CallerIn | None, sealer: Sealer) -> dict[str, Any]:
    if caller is None or not (caller.name or caller.phone):
        return {}
    return {"caller": sealer.seal({"name": caller.name, "phone": caller.phone})}


def _without_identifiers(party: Party) -> Party:
    """A name field may hold a number too ("王师傅 139…"); the number is sealed, not named."""
    return party.model_copy(update={"name": redact_identifiers(party.name)})


def _triage(*reasons: str | None) -> tuple[bool, str | None]:
    given = [reason for reason in reasons if reason]
    return bool(given), "; ".join(given) or None


def build_dispute(
    identity: Identity,
    channel: Channel,
    placement: Placement,
    *,
    category: Category,
    description: str,
    parties: Iterable[Party] = (),
    people_involved: int = 1,
    amount_yuan: float = 0,
    risk_flags: Iterable[RiskFlag] = (),
    incident_at: datetime | None = None,
    address_text: str | None = None,
    triage_reason: str | None = None,
) -> Dispute:
    """Every channel's dispute is built here, so every free-text field passes the redaction
    of phone and ID numbers (however written) before the event leaves intake."""
    needs_triage, reason = _triage(placement.triage_reason, triage_reason)
    return Dispute(
        dispute_id=identity.dispute_id,
        tracking_number=identity.tracking_number,
        channel=channel,
        category=category,
        description=redact_identifiers(description),
        village_id=placement.village_id,
        grid_id=placement.grid_id,
        address_text=redact_identifiers(address_text) if address_text else None,
        parties=tuple(_without_identifiers(party) for party in parties),
        people_involved=people_involved,
        amount_yuan=amount_yuan,
        risk_flags=tuple(dict.fromkeys(risk_flags)),
        incident_at=incident_at,
        needs_triage=needs_triage,
        triage_reason=reason,
    )


def hotline_draft(
    report: HotlineReport, identity: Identity, sealer: Sealer, registry: Registry, radius_km: float
) -> Draft:
    placement = resolve(
        registry,
        village_id=report.village_id,
        grid_id=report.grid_id,
        address_text=report.address_text,
        radius_km=radius_km,
    )
    parties = [seal_party(party, sealer) for party in report.parties]
    if report.caller is not None and report.caller.is_party:
        caller = PartyIn(name=report.caller.name, phone=report.caller.phone)
        parties.append(seal_party(caller, sealer))
    dispute = build_dispute(
        identity,
        Channel.HOTLINE,
        placement,
        category=report.category,
        description=report.description,
        parties=parties,
        people_involved=report.people_involved,
        amount_yuan=report.amount_yuan,
        risk_flags=report.risk_flags,
        incident_at=report.occurred_at,
        address_text=report.address_text,
    )
    return Draft(dispute, _sealed_caller(report.caller, sealer))


def wechat_draft(
    message: WeChatMessage, reading: Reading, identity: Identity, registry: Registry
) -> Draft:
    """Only for messages read as a dispute or as needing triage."""
    placement = by_wechat_group(registry, message.group_id)
    sender = Party(kind=PartyKind.PERSON, name=message.sender.nickname[:100])
    unclear = reading.reason if reading.verdict is Verdict.NEEDS_TRIAGE else None
    dispute = build_dispute(
        identity,
        Channel.WECHAT,
        placement,
        category=reading.category,
        description=message.text,
        parties=[sender] if message.sender.nickname else [],
        risk_flags=reading.risk_flags,
        incident_at=message.sent_at,
        triage_reason=unclear,
    )
    private = {"wechat": {"group_id": message.group_id, "message_id": message.message_id}}
    return Draft(dispute, private | {"reading": reading.reason})


def grid_draft(report: GridReport, identity: Identity, sealer: Sealer, registry: Registry) -> Draft:
    placement = resolve(registry, grid_id=report.grid_id)
    dispute = build_dispute(
        identity,
        Channel.GRID,
        placement,
        category=report.category,
        description=report.description,
        parties=[seal_party(party, sealer) for party in report.parties],
        people_involved=report.people_involved,
        amount_yuan=report.amount_yuan,
        risk_flags=report.risk_flags,
        incident_at=report.occurred_at,
    )
    return Draft(dispute, {"reporter": report.reporter.model_dump()})


def _redact(text: str, secrets: Iterable[str | None]) -> str:
    """An agent may repeat the petitioner's name or numbers in free text; they stay sealed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, PETITIONER)
    return text


def petition_draft(
    report: PetitionReport, identity: Identity, sealer: Sealer, registry: Registry, radius_km: float
) -> Draft:
    petitioner = report.petitioner
    secrets = (petitioner.id_number, petitioner.phone, petitioner.name)
    demands = "；".join(f"{i}. {_redact(d, secrets)}" for i, d in enumerate(report.demands, 1))
    description = f"{_redact(report.description, secrets)}\n诉求：{demands}"
    sealed_identity = sealer.seal(
        {"name": petitioner.name, "id_number": petitioner.id_number, "phone": petitioner.phone}
    )
    party = Party(
        kind=PartyKind.PERSON,
        name=PETITIONER,
        village_id=petitioner.village_id,
        household_color=petitioner.household_color,
        phone_hash=sealer.hash_identifier(petitioner.phone) if petitioner.phone else None,
        sealed_contact=sealed_identity,
    )
    placement = resolve(
        registry,
        village_id=report.village_id or petitioner.village_id,
        grid_id=report.grid_id,
        address_text=report.address_text,
        radius_km=radius_km,
    )
    dispute = build_dispute(
        identity,
        Channel.PETITION,
        placement,
        category=report.category,
        description=description[:10_000],
        parties=[party, *(seal_party(p, sealer) for p in report.parties)],
        people_involved=report.people_involved,
        amount_yuan=report.amount_yuan,
        risk_flags=report.risk_flags,
        incident_at=report.occurred_at,
        address_text=_redact(report.address_text, secrets) if report.address_text else None,
    )
    return Draft(dispute, {"agent_id": report.agent_id, "petition_ref": report.petition_ref})


def with_duplicate(dispute: Dispute, earlier: str | None) -> Dispute:
    return dispute.model_copy(update={"possible_duplicate_of": earlier}) if earlier else dispute


def reported_event(dispute: Dispute, received_at: datetime) -> DisputeReported:
    """The event id follows the dispute id, so a re-sent report is the same event."""
    return DisputeReported(
        event_id=deterministic_event_id(dispute.dispute_id, "reported"),
        occurred_at=received_at,
        correlation_id=dispute.dispute_id,
        dispute=dispute,
    )
