"""``python -m fapilog.loadtest``."""

import sys

from fapilog.loadtest import main

sys.exit(main())
