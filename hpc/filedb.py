"""A MongoDB-like database in one file, shared safely by many processes on one machine.

The file LaunchPad (``launchpad: file:<path>``) is mongomock, FireWorks' own in-memory
MongoDB, kept in a JSON file in mongomock-persistence's layout. mongomock-persistence loads
the whole file when a process starts and writes it all back at exit: the last writer wins,
and a kill during that write leaves the file empty. Here instead every operation on a
collection is one transaction:

1. take ``<path>.lock`` (``flock``; the kernel releases it if the process dies),
2. reload the file if another process changed it since this one last read it,
3. run the operation on the in-memory copy,
4. if the operation writes, replace the file atomically (temporary file, fsync, rename),
5. release the lock.

So a batch job holds the lock for milliseconds per LaunchPad call, not for its whole run; a
kill at any moment leaves the file as it was before or after one whole operation; and
FireWorks' own atomic updates (``find_one_and_update`` on reservations and launches) stay
atomic across processes. :meth:`FileDatabase.transaction` groups several operations (a whole
``ionflow submit``) into one, written once at its end and dropped if it fails.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mongomock_ng
from bson import json_util

from ionflow.inputs.errors import InputError
from ionflow.inputs.files import atomic_write, exclusive_lock

READ_METHODS = frozenset(
    {
        "find",
        "find_one",
        "count_documents",
        "estimated_document_count",
        "count",
        "distinct",
        "aggregate",
        "index_information",
        "list_indexes",
        "find_raw_batches",
        "get",
        "get_last_version",
        "get_version",
        "exists",
        "list",
        "close",
        "server_info",
        "list_database_names",
        "list_collection_names",
    }
)
"""Collection (and GridFS) methods that never write; every other method call writes."""


class _Client(mongomock_ng.MongoClient):
    """mongomock's client, except that closing it keeps the data: they belong to the file
    and to the other clients of this process (mongomock's ``close`` empties its server)."""

    def close(self) -> None:
        """Refuse further use of this client; the data stay."""
        self._database_accesses.clear()
        self._closed = True


class FileDatabase:
    """One file holding a mongomock server, synchronised per operation across processes."""

    def __init__(self, path: Path, mode: int | None = None) -> None:
        self.path = Path(path)
        self.mode = mode
        self.client = _Client()
        self._server = self.client._store
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) last loaded
        self._depth = 0
        self._dirty = False
        self._thread_lock = threading.RLock()  # FireWorks pings from a second thread

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        stamp = self._stamp()
        if stamp == self._seen and stamp is not None:
            return
        data: dict = {}
        if stamp is not None:
            text = self.path.read_text()
            try:
                data = json_util.loads(text) if text.strip() else {}
            except ValueError as exc:
                raise InputError(
                    str(self.path),
                    f"is not a readable LaunchPad file ({str(exc)[:80]})",
                    "restore it from a copy, or point the profile's launchpad at a new file",
                ) from None
            if not isinstance(data, dict):
                raise InputError(
                    str(self.path), "is not a LaunchPad file (no databases in it)", "point to the right file"
                )
        loaded = {(db, name) for db, colls in data.items() for name in colls}
        for db_name, db_store in list(self._server._databases.items()):
            for name, coll in db_store._collections.items():
                if (db_name, name) not in loaded:
                    coll.drop()
        for db_name, colls in data.items():
            for name, content in colls.items():
                coll = self._server[db_name][name]  # in place: open collections keep their store
                coll._documents = collections.OrderedDict(
                    (key, doc) for key, doc in content.get("documents", [])
                )
                coll.indexes = dict(content.get("indexes", {}))
                coll._is_force_created = True
        self._seen = stamp

    def _save(self) -> None:
        data = {
            db_name: {
                name: {
                    "name": name,
                    "documents": list(coll._documents.items()),
                    "indexes": coll.indexes,
                }
                for name, coll in db_store._collections.items()
                if coll.is_created
            }
            for db_name, db_store in self._server._databases.items()
        }
        atomic_write(self.path, json_util.dumps(data).encode(), self.mode)
        self._seen = self._stamp()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the file for a group of operations: reloaded at the start, written once at the
        end if anything changed; an exception drops the changes (the file keeps its state)."""
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with exclusive_lock(Path(f"{self.path}.lock"), f"the database {self.path.name}"):
                self._load()
                self._depth, self._dirty = 1, False
                try:
                    yield
                    if self._dirty:
                        self._save()
                except BaseException:
                    self._seen = None  # reload the file's state, not this failed change
                    raise
                finally:
                    self._depth, self._dirty = 0, False

    def run(self, method: Callable, name: str, args: tuple, kwargs: dict) -> Any:
        """Call ``method`` (a collection's ``name``) in a transaction; mark it a write unless it reads."""
        with self.transaction():
            result = method(*args, **kwargs)
            if name not in READ_METHODS:
                self._dirty = True
            # a cursor reads lazily, but a reload replaces each collection's document map
            # instead of changing it, so an open cursor never sees a half-loaded state
            return result

    def new_client(self) -> Any:
        """A client of this database (pymongo's interface), every call a transaction; closing
        it leaves the other clients open, as with a real server."""
        return Synced(_Client(_store=self._server), self)

    def synced(self, target: Any) -> Any:
        """``target`` (a collection, database or GridFS) with every method call a transaction."""
        return Synced(target, self)


class Synced:
    """A proxy whose method calls each run as one :class:`FileDatabase` transaction."""

    def __init__(self, target: Any, db: FileDatabase) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_db", db)

    @property
    def __class__(self) -> type:  # isinstance checks (GridFS wants a Database) see the target
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, mongomock_ng.collection.Collection | mongomock_ng.database.Database):
            return Synced(value, self._db)  # db.fireworks, client.admin, coll.sub
        if not callable(value):
            return value
        db = self._db

        def call(*args: Any, **kwargs: Any) -> Any:
            return db.run(value, name, args, kwargs)

        return call

    def __getitem__(self, name: str) -> Synced:
        return Synced(self._target[name], self._db)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __eq__(self, other: object) -> bool:
        return self._target == getattr(other, "_target", other)

    def __hash__(self) -> int:
        return hash(self._target)
