"""``python -m stapbench``: the same as the ``stapbench`` command."""

import sys

from .cli import main

sys.exit(main())
