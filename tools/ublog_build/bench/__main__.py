"""``python3 -m ublog_build.bench`` (tools/ on sys.path): the same as
``tools/ublog-build bench``."""

import sys

from ublog_build.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
