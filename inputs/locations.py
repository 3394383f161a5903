"""Where results and workflows are kept: a file path or a MongoDB URI, with secrets as references.

A location may hold ``${VAR}`` references (a database password): profiles, batch scripts,
job arguments and database documents keep the reference; only the process that opens a
connection expands it, in memory, with :func:`expand_secrets`. Nothing here prints a URI:
messages name its host (:func:`host_of`).
"""

from __future__ import annotations

import os
import re

from ionflow.inputs.errors import InputError

VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def missing_variables(value: str) -> list[str]:
    """The ``$VAR`` / ``${VAR}`` names in ``value`` that the environment does not set."""
    return [a or b for a, b in VARIABLE.findall(value) if (a or b) not in os.environ]


def expand_secrets(value: str) -> str:
    """``value`` with its ``${VAR}`` references filled in from the environment.

    Profiles, batch scripts, job arguments and LaunchPad documents keep the references; only
    the process that opens a connection expands them, in memory.
    """
    missing = missing_variables(value)
    if missing:
        raise InputError(
            f"environment variable {missing[0]}",
            "is not set in this process (a database URI of the profile uses it)",
            f"export {missing[0]} here (batch jobs: in the profile's pre_run, `source ~/.ionflow-env`)",
        )
    return os.path.expandvars(value)


def is_mongodb(where: str) -> bool:
    """Whether a launchpad/results location is a MongoDB URI."""
    return where.startswith(("mongodb://", "mongodb+srv://"))


def uri_database(uri: str) -> str:
    """The database a MongoDB URI names (``mongodb://host:27017/DATABASE``), "" if none;
    FireWorks and maggma need one."""
    after_host = uri.split("://", 1)[-1].split("@")[-1].split("?")[0]
    return after_host.split("/", 1)[1].strip() if "/" in after_host else ""


def host_of(uri: str) -> str:
    """The host part of a MongoDB URI, without user or password (safe to print)."""
    return uri.split("://", 1)[-1].split("@")[-1].split("/")[0].split("?")[0]
