"""Put the test-support library and the pipeline package on ``sys.path``.

Every test directory imports its helpers as ``support.*`` (tests/support/)
and reads built artifacts through ``ublog_build`` (tools/ublog_build/); no
test module imports another test module.
"""

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
for _path in (_TESTS.parent / "tools", _TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
