"""Pure normalisation of channel reports into the shared Dispute shape."""

import secrets
import string
from datetime import datetime

from contracts.events import Dispute, Party
from contracts.vocabulary import Channel
from intake.models import HotlineReport, PartyIn
from services.privacy import Sealer

_TRACKING_ALPHABET = string.digits + "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read aloud on calls


def new_tracking_number(prefix: str, now: datetime) -> str:
    code = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(6))
    return f"{prefix}-{now:%Y%m%d}-{code}"


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


def hotline_dispute(
    report: HotlineReport, *, dispute_id: str, tracking_number: str, sealer: Sealer
) -> Dispute:
    return Dispute(
        dispute_id=dispute_id,
        tracking_number=tracking_number,
        channel=Channel.HOTLINE,
        category=report.category,
        description=report.description,
        village_id=report.village_id,
        grid_id=report.grid_id,
        address_text=report.address_text,
        parties=tuple(seal_party(party, sealer) for party in report.parties),
        people_involved=report.people_involved,
        amount_yuan=report.amount_yuan,
        risk_flags=tuple(dict.fromkeys(report.risk_flags)),
        incident_at=report.occurred_at,
        needs_triage=report.village_id is None and report.grid_id is None,
        triage_reason=None if report.village_id or report.grid_id else "place given as text only",
    )
