"""``python -m simroute``: the ``simroute`` command."""

import sys

from simroute.console import main

sys.exit(main())
