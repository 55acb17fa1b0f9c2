"""Errors a user can act on: each names the file, the field and what is wrong, in one line."""

from __future__ import annotations

__all__ = ["SimrouteError", "ScenarioError"]


class SimrouteError(Exception):
    """Base of every error simroute reports to a user (the CLI prints it and exits with code 2)."""

    source: str | None = None  #: the file or argument the error is about, where there is one


class ScenarioError(SimrouteError, ValueError):
    """A scenario that cannot be loaded: ``problems`` holds ``(field path, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = _one_line(str(source), limit=4096)  # a file name may hold a line break or an escape
        self.problems = [(_one_line(path), _one_line(message)) for path, message in problems]
        source = self.source
        problems = self.problems
        lines = [
            f"{source}: {path}: {message}" if path else f"{source}: {message}" for path, message in problems
        ]
        super().__init__("\n".join(lines))


def _one_line(message: str, limit: int = 500) -> str:
    """A message as one printable line of bounded length: it may quote what the user wrote."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return text if len(text) <= limit else text[: limit - 3] + "..."
