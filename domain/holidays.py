"""The company's holiday overrides, merged over the published calendar (R-CAL-1).

The override file adds what the package does not know: local closures, an
extra working Saturday, and next year's State Council notice before the
package ships it. It is parsed here from its text; the shell reads the file.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

from domain.clock import DayRules


class OverrideError(ValueError):
    """The override file cannot be used; the message says where and why."""


def _dates(entries: list, key: str) -> set[date]:
    out: set[date] = set()
    for entry in entries:
        if isinstance(entry, date):
            out.add(entry)
            continue
        if isinstance(entry, str) and ".." in entry:
            first, last = (date.fromisoformat(part.strip()) for part in entry.split(".."))
            if last < first:
                raise OverrideError(f"{key}: range {entry!r} ends before it starts")
            out.update(first + timedelta(days=i) for i in range((last - first).days + 1))
            continue
        try:
            out.add(date.fromisoformat(str(entry)))
        except ValueError as exc:
            raise OverrideError(f"{key}: {entry!r} is not a date (YYYY-MM-DD) or a range (A..B)") from exc
    return out


def apply_overrides(base: DayRules, text: str) -> DayRules:
    """`base` with the override file's closed days, working days and known years applied."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OverrideError(f"holiday override file is not valid TOML: {exc}") from exc
    unknown = set(raw) - {"known_years", "closed", "working"}
    if unknown:
        raise OverrideError(f"holiday override file: unknown keys {sorted(unknown)}; use known_years, closed, working")
    closed = _dates(raw.get("closed", []), "closed")
    working = _dates(raw.get("working", []), "working")
    both = closed & working
    if both:
        raise OverrideError(f"holiday override file: {sorted(both)[0]} is both closed and working")
    years = raw.get("known_years", [])
    if not all(isinstance(y, int) for y in years):
        raise OverrideError("holiday override file: known_years must be a list of years")
    return DayRules(
        holidays=frozenset((base.holidays - working) | closed),
        workdays=frozenset((base.workdays - closed) | working),
        known_years=base.known_years | frozenset(years),
    )
