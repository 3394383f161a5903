"""Cluster profiles: where and how flows run on a cluster, in YAML.

Bundled examples live in ``hpc/profiles/``; a user's own profiles in
``$IONFLOW_CONFIG_DIR/clusters/`` (default ``~/.config/ionflow/clusters/``) take precedence.
"""

from __future__ import annotations

import os
import re
import shutil
from importlib.resources import files
from pathlib import Path

import pymongo
from pydantic import BaseModel, Field, ValidationError, field_validator

from ionflow.hpc.schedulers import SCHEDULERS
from ionflow.inputs.errors import InputError, field_error, read_yaml_mapping, registered
from ionflow.inputs.locations import expand_secrets, host_of, is_mongodb, missing_variables, uri_database

WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}:\d{2}$")


class ClusterProfile(BaseModel):
    """One cluster: scheduler, allocation, resources, environment, VASP command, databases."""

    model_config = {"extra": "forbid"}

    name: str = ""
    source: str = ""
    scheduler: str = Field(description="a name in ionflow.hpc.schedulers.SCHEDULERS: slurm, pbs")
    account: str = Field(min_length=1)
    partition: str = Field(min_length=1, description="SLURM partition or PBS queue")
    nodes: int = Field(1, ge=1)
    ntasks_per_node: int = Field(1, ge=1)
    walltime: str
    pre_run: list[str] = Field(default_factory=list)
    vasp_cmd: str = ""
    launchpad: str = Field(description="mongodb:// URI, or file:<path> for a single machine")
    results: str = Field(description="mongodb:// URI or a results file")
    work_dir: str = Field("ionflow-cluster", description="folder for batch scripts, job folders and logs")
    pack: int = Field(
        1,
        ge=1,
        description="ready jobs of one workflow run one after another in one batch job, which goes "
        "on with the jobs they make ready while its walltime has room (1: one batch job per job)",
    )

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        return registered(value, SCHEDULERS)

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, value: str) -> str:
        if not WALLTIME.match(value):
            raise ValueError("must be HH:MM:SS or D-HH:MM:SS, e.g. '24:00:00'")
        return value

    @field_validator("launchpad")
    @classmethod
    def _launchpad(cls, value: str) -> str:
        if not value.startswith(("mongodb://", "mongodb+srv://", "file:")):
            raise ValueError("must be a mongodb:// URI or file:<path>")
        if is_mongodb(value) and not uri_database(value):
            raise ValueError("names no database (mongodb://user@host:27017/DATABASE)")
        return value

    @field_validator("results")
    @classmethod
    def _results(cls, value: str) -> str:
        if is_mongodb(value) and not uri_database(value):
            raise ValueError("names no database (mongodb://user@host:27017/DATABASE)")
        return value

    @property
    def walltime_s(self) -> int:
        """The walltime in seconds."""
        days, _, clock = self.walltime.rpartition("-")
        hours, minutes, seconds = (int(part) for part in clock.split(":"))
        return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds

    @property
    def submit_command(self) -> str:
        """The scheduler's submit program (``sbatch`` or ``qsub``)."""
        return SCHEDULERS[self.scheduler].submit_command


def user_profile_dir() -> Path:
    """Folder of the user's own profiles."""
    base = os.environ.get("IONFLOW_CONFIG_DIR") or Path.home() / ".config" / "ionflow"
    return Path(base) / "clusters"


def _bundled() -> dict[str, Path]:
    folder = files("ionflow.hpc").joinpath("profiles")
    return {p.name.removesuffix(".yaml"): Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def available_profiles() -> dict[str, Path]:
    """Profile names and files: bundled examples, then the user's (which win on a name clash)."""
    found = _bundled()
    folder = user_profile_dir()
    if folder.is_dir():
        found.update({p.stem: p for p in sorted(folder.glob("*.yaml"))})
    return found


def _field_fix(field: str) -> str:
    fixes = {
        "account": "add `account: <your allocation>`",
        "walltime": 'add `walltime: "24:00:00"` (HH:MM:SS)',
        "scheduler": f"set `scheduler:` to one of {', '.join(SCHEDULERS)}",
        "partition": "add `partition: <partition or queue name>`",
        "launchpad": "set `launchpad: mongodb://user:${DB_PASSWORD}@host:27017/fireworks` "
        "(or file:<path> on one machine)",
        "results": "set `results: mongodb://user:${DB_PASSWORD}@host:27017/ionflow` or a results file path",
        "pack": "set `pack:` to a whole number of jobs per batch job, 1 or more",
    }
    return fixes.get(field, f"see the bundled example profiles for {field!r}")


def load_profile(name_or_path: str) -> ClusterProfile:
    """A profile by name (user's or bundled) or by YAML path; every problem is a clear error."""
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        profiles = available_profiles()
        if name_or_path not in profiles:
            raise InputError(
                "--cluster",
                f"no cluster profile named {name_or_path!r}",
                f"use one of {', '.join(sorted(profiles))} or add {user_profile_dir()}/{name_or_path}.yaml",
            )
        path = profiles[name_or_path]
    data = read_yaml_mapping(path, "see the bundled example profiles")
    for key in ("launchpad", "results"):  # secrets stay out of the file: mongodb://${FW_DB_URI}
        value = data.get(key)
        if isinstance(value, str):
            missing = missing_variables(value)
            if missing:
                raise InputError(
                    f"{path}: field {key!r}",
                    f"uses environment variable {missing[0]}, which is not set",
                    f"export {missing[0]}=... before running ionflow",
                )
    try:
        return ClusterProfile(**{"name": path.stem, **data, "source": str(path)})
    except ValidationError as exc:
        raise field_error(path, exc, _field_fix) from None


def check_profile(profile: ClusterProfile, timeout_s: float = 3.0) -> list[str]:
    """What stops ``profile`` from working from this machine, one line each (empty: all good).

    Checks the scheduler's submit command on PATH and that both databases can be reached.
    """
    problems = []
    if shutil.which(profile.submit_command) is None:
        problems.append(
            f"{profile.submit_command} is not on PATH: run on the cluster's login node "
            f"(or load the scheduler's module)"
        )
    for label, where in (("launchpad", profile.launchpad), ("results", profile.results)):
        problem = _database_problem(where, timeout_s)
        if problem:
            problems.append(f"{label}: {problem}")
    return problems


def _database_problem(where: str, timeout_s: float) -> str | None:
    if is_mongodb(where):
        try:
            uri = expand_secrets(where)
            client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=int(timeout_s * 1000))
            client.admin.command("ping")
        except InputError as exc:
            return str(exc)
        except Exception as exc:  # pymongo raises several kinds; all mean "not reachable"
            return (
                f"MongoDB at {host_of(where)} is not reachable ({type(exc).__name__}); "
                "check the URI, its password variable, VPN or firewall"
            )
        return None
    path = Path(expand_secrets(where).removeprefix("file:")).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        return f"folder {folder} does not exist; create it or change the path"
    if not os.access(folder, os.W_OK):
        return f"folder {folder} is not writable"
    return None
