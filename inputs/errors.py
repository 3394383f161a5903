"""One error type for bad input: it names the input, the field and the fix."""

from __future__ import annotations

from collections.abc import Mapping


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

    def __reduce__(self):
        """Pickled with its three parts (it crosses from worker processes to the command)."""
        return type(self), (self.source, self.problem, self.fix)


def read_yaml_mapping(path, fix: str) -> dict:
    """The mapping in a YAML settings file; bad YAML or a non-mapping is an :class:`InputError`
    naming the file (``fix``: what a valid file looks like)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"is not valid YAML ({exc})", "fix the syntax") from None
    if not isinstance(data, dict):
        raise InputError(str(path), "is not a mapping of settings", fix)
    return data


def field_error(path, exc, fix_for) -> InputError:
    """An :class:`InputError` for the first problem pydantic found in the settings file ``path``;
    ``fix_for(field)`` says how to fix that field."""
    error = exc.errors()[0]
    field = ".".join(str(x) for x in error["loc"]) or "settings"
    problem = "is missing" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
    return InputError(f"{path}: field {field!r}", problem, fix_for(field))


def registered(value: str, registry: Mapping[str, object]) -> str:
    """``value`` if it names an entry of ``registry``; else a ValueError listing the names
    (for pydantic validators, whose message ends in the one-line error)."""
    if value not in registry:
        raise ValueError(f"must be one of {', '.join(registry)}")
    return value
