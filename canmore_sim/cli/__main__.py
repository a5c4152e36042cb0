"""``python -m canmore_sim.cli``: the ``canmore-sim`` command."""

import sys

from canmore_sim.cli.main import main

sys.exit(main())
