"""One error type for bad input: it names the input, the field and the fix."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input, reported on one line.

    Parameters
    ----------
    source
        The file or argument the bad value came from (``"--x-br"``, ``"host.cif"``).
    problem
        What is wrong with it.
    fix
        What the user should change.
    """

    def __init__(self, source: str, problem: str, fix: str) -> None:
        self.source = source
        self.problem = problem
        self.fix = fix
        super().__init__(f"{source}: {problem}; fix: {fix}")
