"""Dated changes to the fleet, as core events on the twin's clock: build-out and power phases.

A run may start on a calendar day. Clusters of sites whose `online` month (its first day) is
later are down from t = 0 (`Down` for every domain) and come `Up` on that day. Sites with
`power_phases` get a `PowerCap` of IT watts = facility MW / PUE at each phase's day (the phase
in force on the start day applies at t = 0). Without a start day the run is the build-out: all
capacity online and, with power caps on, each site's last phase in force.
"""

from __future__ import annotations

from datetime import date

from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import day_of
from gpufleet.fleet.model import Fleet, Site
from gpufleet.scheduler.events import Down, Event, PowerCap, Up

DAY_S = 86400.0


def seconds_after(start: date, day: date) -> float:
    """Seconds from midnight of `start` to midnight of `day`."""
    return (day - start).days * DAY_S


def online_day(site: Site) -> date | None:
    """The first day of the site's `online` month; None when the site gives none."""
    if not site.online:
        return None
    day = day_of(site.online)
    if day is None:
        raise ConfigError(f"site {site.id}: online {site.online!r} is not YYYY-MM or YYYY-MM-DD")
    return day


def it_watts(site: Site, mw: float) -> float:
    """IT watts the GPUs may draw under `mw` of facility power: the PUE's share goes to
    cooling and conversion."""
    return mw * 1e6 / site.pue


def build_out(fleet: Fleet, start: date) -> list[tuple[float, Event]]:
    """Down at t = 0 and Up on the online day, for every domain of a site not yet online."""
    out: list[tuple[float, Event]] = []
    sites = {s.id: s for s in fleet.sites}
    for ci, c in enumerate(fleet.clusters):
        day = online_day(sites[c.site])
        if day is None or day <= start:
            continue
        at = seconds_after(start, day)
        for d in fleet.cluster_domains(ci):
            out.append((0.0, Down(d, c.domain_gpus)))
            out.append((at, Up(d, c.domain_gpus)))
    return out


def online_at(fleet: Fleet, start: date | None) -> list[float]:
    """Seconds after t = 0 at which each cluster comes online (0: online from the start)."""
    if start is None:
        return [0.0] * len(fleet.clusters)
    days = {s.id: online_day(s) for s in fleet.sites}
    out = []
    for c in fleet.clusters:
        day = days[c.site]
        out.append(seconds_after(start, day) if day is not None and day > start else 0.0)
    return out


def power_caps(fleet: Fleet, start: date | None) -> list[tuple[float, Event]]:
    """PowerCap events: the phase in force at t = 0, then one per later phase."""
    out: list[tuple[float, Event]] = []
    for s in fleet.sites:
        if not s.power_phases:
            continue
        if start is None:
            out.append((0.0, PowerCap(s.id, it_watts(s, s.power_phases[-1].mw))))
            continue
        for p in s.power_phases:
            at = max(0.0, seconds_after(start, p.start))
            out.append((at, PowerCap(s.id, it_watts(s, p.mw))))
    return out


def timeline(fleet: Fleet, start: date | None, power: bool) -> list[tuple[float, Event]]:
    """Every dated fleet event of a run, sorted by time (stable: a site's phases in order)."""
    events = build_out(fleet, start) if start is not None else []
    if power:
        events += power_caps(fleet, start)
    events.sort(key=lambda te: te[0])
    return events
