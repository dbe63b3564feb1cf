"""Calendar arithmetic for budgets and schedules, in the policy's own timezone.

Budget periods are fixed: a monthly budget renewing on the 5th runs from the 5th 00:00 to the next
5th 00:00 local time; a weekly one from its weekday 00:00 for seven days; a daily one from local
midnight. Schedules are daily windows on chosen weekdays; an ``end`` earlier than ``start`` runs past
midnight (and belongs to the day it starts on).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from headwater.policies.schemas import DAYS, BudgetSpec, ScheduleSpec


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, day.day)


def budget_period(budget: BudgetSpec, now: float) -> tuple[float, float]:
    """The (start, end) epochs of the budget period that contains ``now``."""
    zone = ZoneInfo(budget.timezone)
    local = datetime.fromtimestamp(now, zone)
    today = local.date()
    if budget.period == "daily":
        start = today
        end = today + timedelta(days=1)
    elif budget.period == "weekly":
        back = (today.isoweekday() - budget.renewsOn) % 7
        start = today - timedelta(days=back)
        end = start + timedelta(days=7)
    else:
        start = today.replace(day=budget.renewsOn)
        if start > today:
            start = _add_months(start, -1)
        end = _add_months(start, 1)
    return (
        datetime.combine(start, time(), zone).timestamp(),
        datetime.combine(end, time(), zone).timestamp(),
    )


def next_renewal(budget: BudgetSpec, now: float) -> datetime:
    return datetime.fromtimestamp(budget_period(budget, now)[1], UTC)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def schedule_open(schedule: ScheduleSpec, now: float) -> bool:
    """Whether ``now`` falls inside the schedule's window."""
    local = datetime.fromtimestamp(now, ZoneInfo(schedule.timezone))
    minute = local.hour * 60 + local.minute
    start, end = _minutes(schedule.start), _minutes(schedule.end)
    today = DAYS[local.weekday()]
    if start < end:
        return today in schedule.days and start <= minute < end
    # past midnight: the part after start belongs to today, the part before end to yesterday
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (today in schedule.days and minute >= start) or (yesterday in schedule.days and minute < end)
