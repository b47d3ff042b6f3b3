"""`python -m gopush` runs the command-line interface."""

import sys

from gopush.cli.main import main

sys.exit(main())
