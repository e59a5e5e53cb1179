"""The one exception the admin verbs raise: a one-line reason plus a hint."""


class AdminError(Exception):
    """Something an admin must fix; ``str()`` is one line, with a hint."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message
