"""`make demo` at a small scale, against a platform started as `make run` starts it."""

from __future__ import annotations

import re
import signal

import pytest

from platformrun.simulator import cli
from tests.support.harness import start_platform

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_the_simulated_city_ends_with_the_codes_its_shops_deserve(tmp_path, capsys):
    launcher, url = start_platform(tmp_path)
    try:
        status = cli.main(["--url", url, "--merchants", "8", "--consumers", "600", "--days", "90"])
        printed = capsys.readouterr().out
        assert status == 0, printed
        assert "every shop got the code it deserves" in printed
        codes = re.search(r"health codes: (\{.*\})", printed).group(1)
        assert "'red': 2" in codes and "'green': 6" in codes, codes
        refunded = int(
            re.search(r"cards refunded on default: ([\d,]+)", printed).group(1).replace(",", "")
        )
        assert refunded > 0
        assert re.search(r"Golden Gym: red, defaulted", printed)
        assert re.search(r"ledger: [\d,]+ entries", printed)
        assert re.search(r"reconciliation with the bank: [\d,]+ days matched, 0 with", printed)
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.wait(60)
