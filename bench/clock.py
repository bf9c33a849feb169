"""Working-hours clock throughput: additions per second (run by `make bench`).

Cost grows with the days a deadline spans, not with its minutes: compare the
rows for 2, 20 and 200 working hours.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.calendar import published_cn_rules
from domain.clock import weekly_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = published_cn_rules()
OFFICE_HOURS = {"daily": [], **{d: ["09:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
CALENDARS = {
    "7x10": weekly_calendar("default", "Asia/Shanghai", {"daily": ["08:00-18:00"]}),
    "7x10 + cn holidays": weekly_calendar("default", "Asia/Shanghai", {"daily": ["08:00-18:00"]}, CN),
    "mon-fri lunch + cn": weekly_calendar("office", "Asia/Shanghai", OFFICE_HOURS, CN),
}
HOURS = {"2 working hours": timedelta(hours=2), "20 working hours": timedelta(hours=20),
         "200 working hours": timedelta(hours=200)}
DAYS = {"5 working days": 5, "30 working days": 30}


def rate(fn, seconds: float = 0.4) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / elapsed


def main() -> None:
    # Starts spread over 2025, holidays included, at odd minutes in and out of hours.
    starts = [datetime(2025, 1, 1, 0, tzinfo=SHANGHAI) + timedelta(minutes=5437 * i) for i in range(97)]
    print(f"{'calendar':<22}{'amount':<20}{'additions/s':>14}")
    for cname, cal in CALENDARS.items():
        for aname, amount in HOURS.items():
            it = iter(starts * 10**5)
            per_s = rate(lambda cal=cal, it=it, amount=amount: cal.add(next(it), amount))
            print(f"{cname:<22}{aname:<20}{per_s:>14,.0f}")
        for aname, days in DAYS.items():
            it = iter(starts * 10**5)
            per_s = rate(lambda cal=cal, it=it, days=days: cal.add_days(next(it), days))
            print(f"{cname:<22}{aname:<20}{per_s:>14,.0f}")


if __name__ == "__main__":
    main()
