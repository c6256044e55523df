"""The one error type users see: what went wrong, where, and how to fix it, in one paragraph."""

from __future__ import annotations


class PlanMetricsError(Exception):
    """An error a user can cause (bad data, bad plan, bad parameter, bad URL).

    The CLI and the notebooks print ``str(error)`` and nothing else: no traceback.
    ``problems`` holds every individual finding when there are several (e.g. data validation).
    """

    def __init__(self, what: str, where: str | None = None, fix: str | None = None,
                 problems: list | None = None):
        self.what, self.where, self.fix = what, where, fix
        self.problems = list(problems or [])
        super().__init__(self.message())

    def __reduce__(self):
        # pickled with its parts (a Dask worker sends it back to the client whole)
        return (type(self), (self.what, self.where, self.fix, self.problems))

    def message(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.where:
            parts.append(f"Where: {self.where}.")
        if self.fix:
            parts.append(f"How to fix: {self.fix.rstrip('.')}.")
        return " ".join(parts)
