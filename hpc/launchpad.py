"""The FireWorks LaunchPad of a cluster profile: MongoDB on a cluster, or a file on one machine.

A ``file:<path>`` LaunchPad is FireWorks' own mongomock persistence (the
``MONGOMOCK_SERVERSTORE_FILE`` setting): every process loads the whole file and writes it
all back, so the last writer wins. ionflow makes that safe by letting one writer at a time
hold ``<path>.lock`` (an ``flock``): :func:`launchpad_session` for ionflow's own commands,
``flock <path>.lock rlaunch ...`` in the batch jobs. Readers (``ionflow status``) take a
snapshot without the lock and never write back. The price: on a file LaunchPad the batch
jobs run one at a time. Use MongoDB (a ``mongodb://`` URI in the profile) for real work.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ionflow.hpc.profiles import ClusterProfile
from ionflow.inputs.errors import InputError

DB_NAME = "ionflow"
ENV_FILE = "MONGOMOCK_SERVERSTORE_FILE"


def launchpad_file(profile: ClusterProfile) -> Path | None:
    """The LaunchPad file of a ``file:`` profile (absolute), else None (MongoDB)."""
    if not profile.launchpad.startswith("file:"):
        return None
    return Path(profile.launchpad.removeprefix("file:")).expanduser().resolve()


def _use_client(db_file: Path | None) -> None:
    """Point FireWorks at the mongomock file client or at pymongo, as ``fw_config`` does when
    ``MONGOMOCK_SERVERSTORE_FILE`` is set before it is imported; done here so that one
    process can open both kinds."""
    if db_file is not None:
        os.environ[ENV_FILE] = str(db_file)
    else:
        os.environ.pop(ENV_FILE, None)
    import fireworks.core.launchpad as lp_module

    if db_file is not None:
        import mongomock.gridfs
        import mongomock_persistence

        mongomock.gridfs.enable_gridfs_integration()
        lp_module.MongoClient = mongomock_persistence.MongoClient
    else:
        import pymongo

        lp_module.MongoClient = pymongo.MongoClient


def _open(profile: ClusterProfile, db_file: Path | None):
    from fireworks import LaunchPad

    _use_client(db_file)
    if db_file is None:
        return LaunchPad(
            host=profile.launchpad, uri_mode=True, mongoclient_kwargs={"serverSelectionTimeoutMS": 5000}
        )
    if not db_file.exists():
        db_file.parent.mkdir(parents=True, exist_ok=True)
        db_file.write_text("{}")
    for attempt in range(50):  # a batch job may be writing the file back right now
        try:
            return LaunchPad(host="localhost", name=DB_NAME, strm_lvl="WARNING")
        except ValueError as exc:  # bson's JSON decoder: a file being written, or damaged
            if attempt == 49:
                raise InputError(
                    str(db_file),
                    f"is not a readable LaunchPad file ({exc})",
                    "restore it from a copy, or point the profile's launchpad at a new file",
                ) from None
            time.sleep(0.1)
    raise AssertionError("unreachable")


def _initialise(lp) -> None:
    """Give a new, empty LaunchPad FireWorks' id counters (``lpad reset`` on nothing)."""
    if lp.fw_id_assigner.count_documents({}) == 0 and lp.fireworks.count_documents({}) == 0:
        lp.reset("", require_password=False)


def _save(lp, db_file: Path) -> None:
    """Write the in-memory LaunchPad to its file atomically, then detach the exit-time write."""
    from bson import json_util

    store = lp.connection._store
    payload = json_util.dumps(store.to_dict())
    fd, tmp = tempfile.mkstemp(prefix=f".{db_file.name}.", dir=db_file.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, db_file)
    store._finalizer.detach()


def _discard(lp) -> None:
    store = getattr(lp.connection, "_store", None)
    finalizer = getattr(store, "_finalizer", None)
    if finalizer is not None:
        finalizer.detach()


@contextlib.contextmanager
def file_lock(db_file: Path, quiet: bool = False) -> Iterator[None]:
    """Hold ``<db_file>.lock`` exclusively (the lock the batch jobs' ``flock`` takes)."""
    db_file.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{db_file}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not quiet:
                print(f"waiting for {db_file}: a running job holds it", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def launchpad_session(profile: ClusterProfile, write: bool = True, quiet: bool = False) -> Iterator:
    """The profile's LaunchPad: ``write`` sessions hold the lock and save on success;
    read sessions see a snapshot and never write."""
    db_file = launchpad_file(profile)
    if db_file is None:
        lp = _open(profile, None)
        if write:
            _initialise(lp)
        try:
            yield lp
        finally:
            lp.connection.close()
        return
    if not write:
        lp = _open(profile, db_file)
        try:
            yield lp
        finally:
            _discard(lp)
        return
    with file_lock(db_file, quiet=quiet):
        lp = _open(profile, db_file)
        _initialise(lp)
        try:
            yield lp
        except BaseException:
            _discard(lp)  # an error midway: the file keeps its last good state
            raise
        _save(lp, db_file)


def launchpad_yaml(profile: ClusterProfile, folder: Path) -> Path:
    """A ``my_launchpad.yaml`` for ``rlaunch -l`` in the batch jobs."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "launchpad.yaml"
    if launchpad_file(profile) is None:
        data = {"host": profile.launchpad, "uri_mode": True}
    else:
        data = {"host": "localhost", "name": DB_NAME}
    path.write_text(yaml.safe_dump(data))
    return path
