"""Where a dispute happened, from whatever the channel knows. Pure: registry in, placement out.

A report whose place cannot be resolved is never refused for it: it is placed at no village,
marked for triage with the reason, and the router sends it to the county desk.
"""

import math
from dataclasses import dataclass

from contracts.registry import Registry, Unit

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Placement:
    village_id: str | None
    grid_id: str | None = None
    triage_reason: str | None = None
    """Set when the place could not be resolved to a village."""


def by_ids(registry: Registry, village_id: str | None, grid_id: str | None) -> Placement | None:
    """Ids already checked by the body models; a grid names its village."""
    if grid_id:
        village = registry.village_of(grid_id)
        return Placement(village.id if village else village_id, grid_id)
    if village_id:
        return Placement(village_id)
    return None


def by_wechat_group(registry: Registry, group_id: str) -> Placement:
    village_id = registry.wechat_groups.get(group_id)
    if village_id is None:
        return Placement(None, triage_reason=f"WeChat group {group_id} is not linked to a village")
    return Placement(village_id)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _villages(registry: Registry) -> list[Unit]:
    return [unit for unit in registry.units.values() if unit.kind == "village"]


def by_coordinates(registry: Registry, lat: float, lon: float, radius_km: float) -> Placement:
    """The village whose centroid is nearest, if it is within `radius_km`."""
    located = [v for v in _villages(registry) if v.lat is not None and v.lon is not None]
    if not located:
        return Placement(None, triage_reason="no village has coordinates")
    nearest = min(located, key=lambda v: distance_km(lat, lon, v.lat or 0.0, v.lon or 0.0))
    distance = distance_km(lat, lon, nearest.lat or 0.0, nearest.lon or 0.0)
    if distance > radius_km:
        return Placement(
            None,
            triage_reason=(
                f"coordinates ({lat:.5f}, {lon:.5f}) are {distance:.1f} km from the nearest "
                f"village ({nearest.name}); over the {radius_km:g} km limit"
            ),
        )
    return Placement(nearest.id)


def by_address(registry: Registry, text: str) -> Placement:
    """Match village names (江河村), narrowed by a town name (双乳镇) when one is given."""
    towns = [u for u in registry.units.values() if u.kind == "town" and u.name in text]
    villages = [v for v in _villages(registry) if v.name in text]
    if towns:
        within = [v for v in villages if v.parent_id in {town.id for town in towns}]
        villages = within or villages
    if len(villages) == 1:
        return Placement(villages[0].id)
    if len(villages) > 1:
        names = "、".join(sorted(v.name for v in villages))
        return Placement(None, triage_reason=f"address names several villages: {names}")
    if len(towns) == 1:
        town = towns[0]
        return Placement(
            None, triage_reason=f"address resolves only to {town.name} ({town.id}); village unknown"
        )
    return Placement(None, triage_reason="address matches no town or village of the county")


def resolve(
    registry: Registry,
    *,
    village_id: str | None = None,
    grid_id: str | None = None,
    address_text: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float = 5.0,
) -> Placement:
    """Most exact first: grid, village, coordinates, then words."""
    placed = by_ids(registry, village_id, grid_id)
    if placed is not None:
        return placed
    if lat is not None and lon is not None:
        by_point = by_coordinates(registry, lat, lon, radius_km)
        if by_point.village_id or not address_text:
            return by_point
    if address_text:
        return by_address(registry, address_text)
    return Placement(None, triage_reason="no place given")
