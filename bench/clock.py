"""Working-hours clock throughput: additions per second (run by `make bench`)."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.clock import weekly_calendar  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDARS = {
    "default 7x10": weekly_calendar("default", "Asia/Shanghai", {"daily": ["08:00-18:00"]}),
    "mon-fri with lunch": weekly_calendar(
        "office", "Asia/Shanghai",
        {"daily": [], **{d: ["09:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}},
    ),
}
AMOUNTS = {"2 working hours": timedelta(hours=2), "20 working hours": timedelta(hours=20),
           "200 working hours": timedelta(hours=200)}


def rate(fn, seconds: float = 0.5) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()
        n += 100
    return n / elapsed


def main() -> None:
    starts = [datetime(2025, 9, 30, 10, tzinfo=SHANGHAI) + timedelta(minutes=37 * i) for i in range(97)]
    print(f"{'calendar':<22}{'amount':<20}{'additions/s':>14}")
    for cname, cal in CALENDARS.items():
        for aname, amount in AMOUNTS.items():
            it = iter(starts * 10**6)
            print(f"{cname:<22}{aname:<20}{rate(lambda: cal.add(next(it), amount)):>14,.0f}")


if __name__ == "__main__":
    main()
