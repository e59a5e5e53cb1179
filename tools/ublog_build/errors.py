"""The pipeline's errors: one line a human can act on, with a hint.

Every step raises :class:`BuildError` (or a subclass) for a condition it
expects: a missing input, tool or privilege, or a command that failed. The
command line prints ``ublog-build COMMAND: error: MESSAGE (HINT)`` and exits
with status 1; a traceback means a bug in the pipeline itself.
"""


class BuildError(Exception):
    """A step cannot go on; ``hint`` says what to do about it."""

    def __init__(self, message: str, hint: str = "", details: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: Lines worth showing before the message (the end of a build log).
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class MissingInput(BuildError):
    """An earlier stage's output is absent: the hint names the make target."""


class MissingTool(BuildError):
    """A program the step runs is not installed."""

    def __init__(self, tool: str, hint: str = "scripts/install-deps"):
        super().__init__(f"{tool} not found", hint)


class NeedsRoot(BuildError):
    """The step chroots, mounts or debootstraps."""

    def __init__(self, why: str):
        super().__init__(f"must run as root ({why})")


class CommandFailed(BuildError):
    """A command exited non-zero; ``details`` holds the end of its output."""
