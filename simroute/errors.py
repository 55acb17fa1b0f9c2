"""Errors a user can act on: each names the file, the field and what is wrong, in one line."""
from __future__ import annotations

__all__ = ["SimrouteError", "ScenarioError"]


class SimrouteError(Exception):
    """Base of every error simroute reports to a user (the CLI prints it and exits with code 2)."""


class ScenarioError(SimrouteError, ValueError):
    """A scenario that cannot be loaded: ``problems`` holds ``(field path, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {path}: {message}" if path else f"{source}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))
