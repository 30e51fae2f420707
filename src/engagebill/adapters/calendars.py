"""Business days from the ``holidays`` package: weekends and the country's public holidays."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

from engagebill.domain.schedules import FirstBusinessDay


@lru_cache(maxsize=64)
def _country(country_code: str) -> Any:
    try:
        return holidays.country_holidays(country_code.upper())
    except NotImplementedError:
        return holidays.HolidayBase()  # a country without data: weekends only


class HolidayCalendars:
    def first_business_day(self, country_code: str) -> FirstBusinessDay:
        calendar = _country(country_code)

        @lru_cache(maxsize=512)
        def first(day: date) -> date:
            # get_nth_working_day counts from the day after its argument.
            result: date = calendar.get_nth_working_day(day - timedelta(days=1), 1)
            return result

        return first
