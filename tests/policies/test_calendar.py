"""Budget periods and schedules, with injected times (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from headwater.policies.calendar import budget_period, next_renewal, schedule_open
from headwater.policies.schemas import BudgetSpec, LimitSpec, PolicySpec, ScheduleSpec

BERLIN = ZoneInfo("Europe/Berlin")


def moment(parts: tuple[int, ...], zone: ZoneInfo | None = None) -> datetime:
    """``datetime(year, month, day[, hour, minute])``."""
    year, month, day, hour, minute = (*parts, 0, 0)[:5]
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def at(*parts: int, zone: ZoneInfo = BERLIN) -> float:
    return moment(parts, zone).timestamp()


def local(epoch: float, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromtimestamp(epoch, zone).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("renews_on", "now", "start", "end"),
    [
        (1, (2026, 11, 25, 12, 0), (2026, 11, 1), (2026, 12, 1)),
        (15, (2026, 11, 25, 12, 0), (2026, 11, 15), (2026, 12, 15)),
        (28, (2026, 11, 25, 12, 0), (2026, 10, 28), (2026, 11, 28)),
        (5, (2026, 12, 31, 23, 59), (2026, 12, 5), (2027, 1, 5)),
        (5, (2027, 1, 4, 23, 59), (2026, 12, 5), (2027, 1, 5)),
        (1, (2027, 1, 1, 0, 0), (2027, 1, 1), (2027, 2, 1)),
    ],
)
def test_monthly_periods_renew_on_the_day_in_the_policy_timezone(
    renews_on: int, now: tuple[int, ...], start: tuple[int, ...], end: tuple[int, ...]
) -> None:
    budget = BudgetSpec(amount="10", period="monthly", renewsOn=renews_on, timezone="Europe/Berlin")
    begins, ends = budget_period(budget, at(*now))
    assert local(begins) == moment(start)
    assert local(ends) == moment(end)


def test_month_across_daylight_saving_is_a_calendar_month() -> None:
    budget = BudgetSpec(amount="10", period="monthly", renewsOn=1, timezone="Europe/Berlin")
    begins, ends = budget_period(budget, at(2026, 10, 15, 12, 0))
    assert ends - begins == (31 * 24 + 1) * 3600  # October has the extra hour in Berlin


def test_weekly_and_daily_periods() -> None:
    weekly = BudgetSpec(amount="1", period="weekly", renewsOn=3, timezone="UTC")  # Wednesdays
    begins, ends = budget_period(weekly, at(2026, 11, 25, 9, 0, zone=ZoneInfo("UTC")))  # a Wednesday
    assert local(begins, ZoneInfo("UTC")) == datetime(2026, 11, 25)
    begins, ends = budget_period(weekly, at(2026, 11, 24, 9, 0, zone=ZoneInfo("UTC")))  # Tuesday
    assert local(begins, ZoneInfo("UTC")) == datetime(2026, 11, 18) and ends - begins == 7 * 86400
    daily = BudgetSpec(amount="1", period="daily", timezone="Europe/Berlin")
    begins, ends = budget_period(daily, at(2026, 11, 25, 0, 30))
    assert local(begins) == datetime(2026, 11, 25) and local(ends) == datetime(2026, 11, 26)
    assert next_renewal(daily, at(2026, 11, 25, 0, 30)) == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)


def test_weekly_renewal_day_is_a_weekday() -> None:
    with pytest.raises(ValidationError, match="weekday"):
        BudgetSpec(amount="1", period="weekly", renewsOn=9)


def test_office_hours_schedule() -> None:
    office = ScheduleSpec(
        days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="18:00", timezone="Europe/Berlin"
    )
    assert schedule_open(office, at(2026, 11, 25, 8, 0))  # Wednesday 08:00 opens
    assert schedule_open(office, at(2026, 11, 25, 17, 59))
    assert not schedule_open(office, at(2026, 11, 25, 18, 0))  # end is exclusive
    assert not schedule_open(office, at(2026, 11, 25, 7, 59))
    assert not schedule_open(office, at(2026, 11, 28, 12, 0))  # Saturday
    assert schedule_open(office, at(2026, 11, 25, 7, 30, zone=ZoneInfo("UTC")))  # 08:30 in Berlin
    assert office.describe() == "Mon, Tue, Wed, Thu, Fri 08:00–18:00 Europe/Berlin"


def test_overnight_schedule_belongs_to_the_day_it_starts() -> None:
    night = ScheduleSpec(days=["fri"], start="22:00", end="06:00", timezone="UTC")
    utc = ZoneInfo("UTC")
    assert schedule_open(night, at(2026, 11, 27, 23, 0, zone=utc))  # Friday night
    assert schedule_open(night, at(2026, 11, 28, 5, 59, zone=utc))  # Saturday early: Friday's window
    assert not schedule_open(night, at(2026, 11, 28, 23, 0, zone=utc))  # Saturday night
    assert not schedule_open(night, at(2026, 11, 27, 5, 0, zone=utc))  # Friday early: Thursday's window


def test_spec_validation() -> None:
    with pytest.raises(ValidationError, match="needs requests"):
        LimitSpec(window="1m")
    with pytest.raises(ValidationError):
        LimitSpec(requests=1, window="1y")
    with pytest.raises(ValidationError, match="timezone"):
        ScheduleSpec(timezone="Nowhere/Special")
    with pytest.raises(ValidationError, match="same"):
        ScheduleSpec(start="08:00", end="08:00")
    with pytest.raises(ValidationError, match="overLimit"):
        PolicySpec.model_validate({"overLimit": "maybe"})
