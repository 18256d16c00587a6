"""Calendar arithmetic shared by the ranks, the points and the subscriptions. Pure."""

import calendar

__all__ = ["add_months"]


def add_months(day, months: int):
    """The same day (a date or a datetime) `months` later or earlier, clamped to month end."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )
