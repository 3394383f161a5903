"""The FireWorks LaunchPad of a cluster profile: MongoDB on a cluster, or a file on one machine.

``mongodb://`` (or ``mongodb+srv://``): FireWorks' own ``LaunchPad`` in URI mode, the
database named by the URI, through pymongo. The URI may hold ``${VAR}`` references
(a password): they are expanded only here, in memory, when the client is made.

``file:<path>``: FireWorks' ``LaunchPad`` on mongomock, kept in the file by
:class:`~ionflow.hpc.filedb.FileDatabase`: every LaunchPad operation locks the file for
milliseconds, reloads what other processes wrote, and writes back atomically. Batch jobs
run side by side; a kill never empties or half-writes the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import fireworks.core.launchpad as lp_module
import mongomock_ng.gridfs
from fireworks import LaunchPad
from jobflow import JobStore
from maggma.stores import MongoStore

from ionflow.analysis.store import ResultsFileStore, results_data_store
from ionflow.hpc.filedb import FileDatabase
from ionflow.hpc.profiles import ClusterProfile
from ionflow.inputs.errors import InputError
from ionflow.inputs.files import SECRET_MODE
from ionflow.inputs.locations import expand_secrets, host_of, is_mongodb, uri_database

DB_NAME = "ionflow"
COLLECTIONS = ("fireworks", "launches", "offline_runs", "fw_id_assigner", "workflows")
SERVER_TIMEOUT_MS = 5000


def launchpad_file(profile: ClusterProfile) -> Path | None:
    """The LaunchPad file of a ``file:`` profile (absolute), else None (MongoDB)."""
    if is_mongodb(profile.launchpad):
        return None
    return Path(expand_secrets(profile.launchpad).removeprefix("file:")).expanduser().resolve()


def _mongodb_launchpad(profile: ClusterProfile) -> LaunchPad:
    uri = expand_secrets(profile.launchpad)
    try:
        lp = LaunchPad(
            host=uri,
            name=uri_database(profile.launchpad),
            uri_mode=True,
            strm_lvl="WARNING",
            mongoclient_kwargs={"serverSelectionTimeoutMS": SERVER_TIMEOUT_MS},
        )
        lp.fireworks.find_one({}, {"_id": 1})  # pymongo connects lazily: reach and authenticate now
        return lp
    except Exception as exc:  # pymongo's errors; their text can quote the URI, so name the host only
        raise InputError(
            f"{profile.source}: field 'launchpad'",
            f"MongoDB at {host_of(profile.launchpad)} cannot be used ({type(exc).__name__})",
            "check the URI, its password variable, VPN or firewall (`ionflow cluster check`)",
        ) from None


def _file_launchpad(db_file: Path) -> tuple[LaunchPad, FileDatabase]:
    db = FileDatabase(db_file, mode=SECRET_MODE)
    mongomock_ng.gridfs.enable_gridfs_integration()  # FireWorks' GridFS fallback on mongomock
    original = lp_module.MongoClient
    lp_module.MongoClient = lambda *args, **kwargs: db.client  # FireWorks makes its client by this name
    try:
        lp = LaunchPad(host="localhost", name=DB_NAME, strm_lvl="WARNING")
    finally:
        lp_module.MongoClient = original
    for name in COLLECTIONS:
        setattr(lp, name, db.synced(getattr(lp, name)))
    lp.db = db.synced(lp.db)
    if lp.gridfs_fallback is not None:
        lp.gridfs_fallback = db.synced(lp.gridfs_fallback)
    return lp, db


def _initialise(lp: LaunchPad) -> None:
    """Give a new, empty LaunchPad FireWorks' id counters (``lpad reset`` on nothing)."""
    if lp.fw_id_assigner.count_documents({}) == 0 and lp.fireworks.count_documents({}) == 0:
        lp.reset("", require_password=False)


@contextlib.contextmanager
def launchpad_session(profile: ClusterProfile, write: bool = True) -> Iterator[LaunchPad]:
    """The profile's LaunchPad for one command.

    A file LaunchPad is held for the whole block (seconds: the command's own reads and
    writes, never a job's run), written once at its end if it changed, unchanged if the block
    fails. A read session (``write=False``) of a file that does not exist is an error:
    nothing is created.
    """
    db_file = launchpad_file(profile)
    if db_file is None:
        lp = _mongodb_launchpad(profile)
        try:
            if write:
                _initialise(lp)
            yield lp
        finally:
            lp.connection.close()
        return
    if not write and not db_file.exists():
        raise InputError(
            f"{profile.source}: field 'launchpad'",
            f"{db_file} does not exist (nothing was submitted with this profile)",
            "check the path, or `ionflow submit` a spec first",
        )
    lp, db = _file_launchpad(db_file)
    with db.transaction():  # a read sees one consistent state; a read writes nothing
        if write:
            _initialise(lp)
        yield lp


def open_launchpad(profile: ClusterProfile) -> LaunchPad:
    """The LaunchPad for a long-running process (a batch job's rocket): with a file, each
    operation is its own short transaction, so the file is never held while a job runs."""
    db_file = launchpad_file(profile)
    if db_file is None:
        return _mongodb_launchpad(profile)
    return _file_launchpad(db_file)[0]


def job_store(profile: ClusterProfile) -> JobStore:
    """jobflow's store of job outputs: beside a file LaunchPad, or the LaunchPad's database.

    Made in the process that runs or reads jobs, never put into a workflow: the LaunchPad's
    documents hold no URI (and so no password). Large outputs (NEB bands) go to its additional
    store ``data``, beside the results (:func:`~ionflow.analysis.store.results_data_store`).
    """
    db_file = launchpad_file(profile)
    if db_file is None:
        uri = expand_secrets(profile.launchpad)
        store = MongoStore.from_uri(
            uri,
            collection_name="ionflow_outputs",
            key="uuid",
            mongoclient_kwargs={"serverSelectionTimeoutMS": SERVER_TIMEOUT_MS},
        )
        return JobStore(store, additional_stores={"data": results_data_store(profile.results)})
    docs = ResultsFileStore(db_file.with_name(f"{db_file.stem}-outputs.json"), key="uuid")
    return JobStore(docs, additional_stores={"data": results_data_store(profile.results)})
