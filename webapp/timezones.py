"""IANA time zones: which names are real, how a local time is labelled, local days as UTC.

Pure: no Flask, no database. Zone data comes from the system's tz database or, where there
is none, the `tzdata` package (a dependency, so every install has the same names).

Only names in `available_timezones()` are accepted: `ZoneInfo()` itself also opens things
that are not zones ("localtime", a folder such as "America" raises IsADirectoryError).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

UTC_NAME = "UTC"
MAX_ZONE_NAME = 64  # the column's size; the longest real name is about 32 characters
# Legacy aliases and POSIX-style names that the tz database keeps for old systems: valid,
# but nobody picks "Etc/GMT+5" or "US/Pacific-New" from a list.
_HIDDEN_PREFIXES = (
    "Etc/",
    "SystemV/",
    "US/",
    "posix",
    "right/",
    "Brazil/",
    "Canada/",
    "Chile/",
    "Mexico/",
)
_HIDDEN = {"GMT", "GMT0", "GMT+0", "GMT-0", "Zulu"}


# Files in a system's zoneinfo folder that are not zones a person lives in.
_NOT_ZONES = {"Factory", "localtime", "posixrules"}


@cache
def zone_names() -> frozenset[str]:
    """Every zone name this install knows."""
    names = {
        name
        for name in available_timezones()
        if name not in _NOT_ZONES and not name.startswith(("posix/", "right/"))
    }
    return frozenset(names | {UTC_NAME})


def is_zone(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= MAX_ZONE_NAME and name in zone_names()


# Old names that browsers still report (ICU keeps them): saved as today's names.
RENAMED = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Louisville": "America/Kentucky/Louisville",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Etc/UTC": UTC_NAME,
    "Etc/Universal": UTC_NAME,
    "Europe/Kiev": "Europe/Kyiv",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
}


def current_name(name: str) -> str:
    """Today's name of a zone an old name (as some browsers report) stands for."""
    renamed = RENAMED.get(name, name)
    return renamed if is_zone(renamed) else name


def zone_named(name: object) -> ZoneInfo | None:
    """The zone with this IANA name, or None when it is not one."""
    return ZoneInfo(name) if is_zone(name) else None  # type: ignore[arg-type]


def zone_or_utc(name: object) -> tzinfo:
    return zone_named(name) or UTC


def zone_key(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or UTC_NAME


@cache
def zone_choices() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The names a person picks from, grouped by region ("Europe": (...)), UTC first."""
    groups: dict[str, list[str]] = {}
    for name in sorted(zone_names()):
        if name in _HIDDEN or name.startswith(_HIDDEN_PREFIXES) or "/" not in name:
            continue
        groups.setdefault(name.split("/", 1)[0], []).append(name)
    return ((UTC_NAME, (UTC_NAME,)), *((region, tuple(names)) for region, names in groups.items()))


def zone_label(moment: datetime) -> str:
    """How a local time names its zone: the abbreviation when the tz database has one
    ("PST", "IST", "CET"), else the offset ("UTC+05:45"); plain UTC is "UTC"."""
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    return "UTC" + offset_text(moment.utcoffset() or timedelta())


def offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of a local day, in UTC. Where a zone moves its clocks forward at
    midnight, that day's 00:00 does not exist; read with fold=0 it is the instant of the
    change (PEP 495), which is exactly when the day starts."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def day_bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days `first` to `last`, both included."""
    return local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)


def day_starts(first: date, last: date, zone: tzinfo) -> list[datetime]:
    """The UTC start of each local day from `first` to `last` and of the day after."""
    days = (last - first).days + 1
    return [local_midnight(first + timedelta(days=n), zone) for n in range(days + 1)]


def local_today(now: datetime, zone: tzinfo) -> date:
    return now.astimezone(zone).date()
