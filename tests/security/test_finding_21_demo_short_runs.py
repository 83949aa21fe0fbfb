"""Finding 21: `make demo` with fewer than 90 days failed its own check.

The storyline was pinned to days 30-60 of a 90-day run: in a 40-day run Quick Wash's
complaints never came and Golden Gym's season barely began, so the end-of-run check failed.
The story's days now scale with the run's length; a run too short (or a city too small) to
tell it is refused with a message and exit status 2 before anything is done.
"""

from __future__ import annotations

import re
import signal

import pytest

from platformrun.simulator import cli
from platformrun.simulator.story import MIN_DAYS, Storyline
from tests.support.harness import start_platform

UNREACHABLE = "http://127.0.0.1:9"


def test_the_story_scales_with_the_run_and_keeps_the_90_day_one():
    assert Storyline.for_days(90) == Storyline(
        buying_days=80, season_start=30, season_end=50, surge_day=60, default_day=85
    )
    for days in range(MIN_DAYS, 200):
        story = Storyline.for_days(days)
        assert 0 < story.season_start < story.buying_days, "Golden Gym's season has buyers"
        assert story.season_start < story.season_end, days
        assert story.season_end <= story.surge_day < story.default_day < days, days


@pytest.mark.parametrize(
    "args, message",
    [
        (["--days", str(MIN_DAYS - 1)], "too short to tell the story"),
        (["--days", "5"], "too short to tell the story"),
        (["--merchants", "2", "--consumers", "1000"], "too few"),
        (["--merchants", "20", "--consumers", "100"], "at least 20 per merchant"),
    ],
)
def test_a_run_that_cannot_tell_the_story_is_refused_before_anything(args, message, capsys):
    with pytest.raises(SystemExit) as refused:
        cli.main(["--url", UNREACHABLE, *args])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "no healthy platform" not in err, "refused before it looked for the platform"


@pytest.mark.broker
@pytest.mark.slow
def test_a_short_run_passes_its_own_check(tmp_path, capsys):
    launcher, url = start_platform(tmp_path)
    try:
        status = cli.main(["--url", url, "--merchants", "6", "--consumers", "300", "--days", "30"])
        printed = capsys.readouterr().out
        assert status == 0, printed
        assert "every shop got the code it deserves" in printed
        assert re.search(r"Golden Gym: red, defaulted", printed), printed
        assert re.search(r"Quick Wash: red, active", printed), printed
        assert int(re.search(r"complaints: ([\d,]+)", printed).group(1)) >= 5
        refunded = re.search(r"cards refunded on default: ([\d,]+)", printed)
        assert refunded and int(refunded.group(1).replace(",", "")) > 0, printed
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.wait(60)
