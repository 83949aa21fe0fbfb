"""`python -m platformrun.simulator`: see `platformrun.simulator.cli`."""

import sys

from platformrun.simulator.cli import main

sys.exit(main())
