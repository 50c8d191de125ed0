"""``python -m scriptdeck.cli``: how ``serve`` starts its children."""

import sys

from scriptdeck.cli import main

sys.exit(main())
