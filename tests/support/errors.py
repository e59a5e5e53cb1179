"""The errors of the test harness: a testbed that cannot be set up or used,
and a command that failed inside one (with its output)."""

import subprocess


class TestbedError(RuntimeError):
    """The testbed could not be set up, booted or used."""

    __test__ = False  # not a pytest test class


class CommandError(TestbedError):
    """A command run inside the container failed; ``.result`` has its output."""

    def __init__(self, cmd, result: subprocess.CompletedProcess):
        self.result = result
        super().__init__(
            f"command failed inside the container (exit {result.returncode}): "
            f"{cmd!r}\n--- stdout ---\n{result.stdout}--- stderr ---\n"
            f"{result.stderr}"
        )
