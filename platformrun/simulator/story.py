"""The story a demo run tells, and the days its beats fall on: they scale with the run's
length, and a run too short or a city too small to tell it is refused."""

from __future__ import annotations

from dataclasses import dataclass

MIN_DAYS = 20
"""The shortest run that tells the story: consumers arrive until 10 days before the end, and
Golden Gym's bonus season (from a third of the run) must fall within those days."""
MIN_CONSUMERS_PER_MERCHANT = 20
"""So that Quick Wash has enough card holders for a surge (the policy's minimum is 5)."""
MIN_MERCHANTS = 3
"""Golden Gym, Quick Wash and at least one healthy shop."""
QUIET_DAYS = 10
"""The last days of the run, when nobody new buys: the codes settle on what happened."""


@dataclass(frozen=True)
class Storyline:
    """The days the story's beats fall on, as fractions of the run; for 90 days: consumers
    arrive on days 0-79, Golden Gym's bonus season runs on days 30-49 and it stops serving
    on day 50, Quick Wash's customers complain on day 60, and the regulator declares Golden
    Gym's default on day 85."""

    buying_days: int
    season_start: int
    season_end: int
    surge_day: int
    default_day: int

    @classmethod
    def for_days(cls, days: int) -> Storyline:
        if days < MIN_DAYS:
            raise ValueError(
                f"--days {days} is too short to tell the story: at least "
                f"{MIN_DAYS} simulated days are needed"
            )
        return cls(
            buying_days=days - QUIET_DAYS,
            season_start=days // 3,
            season_end=days * 5 // 9,
            surge_day=days * 2 // 3,
            default_day=days - 5,
        )
