"""The app works with a custom user model (USERNAME_FIELD = "email").

The user model is fixed per process, so this runs tests/custom_user/checks.py
in a second pytest process with tests.settings_custom_user.
"""

import os
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def test_custom_user_model():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV_CORE")}
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings_custom_user"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["-p", "no:cov", "tests/custom_user/checks.py"],
        cwd=PACKAGE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout
