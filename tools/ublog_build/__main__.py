"""``python3 -m ublog_build`` (with tools/ on sys.path): the command line."""

import sys

from .cli import main

sys.exit(main())
