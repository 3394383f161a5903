"""The results database: a maggma store, a JSON file on disk by default, MongoDB with a URI.

The file store writes atomically (temporary file, then one rename) under a file lock and
re-reads the file before every update, so concurrent processes merge instead of
overwriting each other, and a crash mid-write leaves the previous file intact. Results are
upserted by ``result_id``: the same result stored twice is one document.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import mongomock
import orjson
from maggma.core import Store
from maggma.stores import JSONStore, MemoryStore, MongoStore
from pydantic import BaseModel
from pymongo.errors import PyMongoError

from ionflow.inputs.errors import InputError
from ionflow.inputs.files import atomic_write, exclusive_lock
from ionflow.inputs.locations import expand_secrets, host_of, is_mongodb, uri_database

DEFAULT_RESULTS = Path("ionflow-results.json")
ENV_RESULTS = "IONFLOW_RESULTS"
"""Environment variable: a file path, or a ``mongodb://`` / ``mongodb+srv://`` URI."""
SERVER_TIMEOUT_MS = 5000
"""How long a MongoDB client looks for its server before the command says it cannot."""


class ResultsFileStore(JSONStore):
    """A JSON-file maggma store with atomic, locked, merging writes.

    ``key`` is ``result_id`` for result documents; jobflow's job-output store uses ``uuid``.
    Reading never creates the file: it appears with the first document stored.
    """

    def __init__(self, path: str | Path, key: str = "result_id", **kwargs) -> None:
        kwargs.pop("paths", None)
        kwargs.pop("read_only", None)
        super().__init__(str(path), read_only=False, key=key, **kwargs)
        self._lock_depth = 0
        self._lock: contextlib.ExitStack | None = None

    def as_dict(self) -> dict:
        """Serializable description (jobflow sends the store to cluster jobs this way)."""
        d = super().as_dict()
        d["path"] = str(self.path)
        return d

    @property
    def path(self) -> Path:
        """The JSON file."""
        return Path(self.paths[0])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_depth == 0:
            self._lock = contextlib.ExitStack()
            lock = exclusive_lock(Path(f"{self.path}.lock"), f"the results file {self.path}")
            self._lock.enter_context(lock)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._lock is not None:
                self._lock.close()
                self._lock = None

    def _documents_on_disk(self) -> list[dict]:
        """The file's documents; a damaged file, or JSON that is not a results file, is an
        error naming the file, never silently replaced."""
        fix = f"restore it or move it away; or point --results ({ENV_RESULTS}) at the results file"
        try:
            docs = orjson.loads(self.path.read_bytes())
        except orjson.JSONDecodeError:
            problem = "is not a valid results file (damaged or not JSON)"
            raise InputError(str(self.path), problem, fix) from None
        if not isinstance(docs, list) or not all(isinstance(d, dict) and self.key in d for d in docs):
            raise InputError(
                str(self.path),
                f"is JSON but not an ionflow results file (a list of documents with {self.key!r})",
                fix,
            )
        return docs

    def connect(self, force_reset: bool = False) -> None:
        """(Re)load the file, on every connect: the file is the truth, and a closed in-memory
        client cannot be reused. A missing file is an empty store (and is not created)."""
        self._coll = mongomock.MongoClient().db[self.name]
        if not self.path.exists() and self._lock_depth == 0:
            return  # reading a store that has no file yet: create nothing (no folder, no lock)
        with self._locked():
            docs = self._documents_on_disk() if self.path.exists() else []
            if docs:
                MemoryStore.update(self, docs, self.key)

    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        """Upsert ``docs`` after re-reading the file, then write it back atomically."""
        with self._locked():
            self.connect(force_reset=True)
            super().update(docs, key)

    def update_json_file(self) -> None:
        """Write all documents to a temporary file and rename it over the store file."""
        data = list(self.query())
        for doc in data:
            doc.pop("_id", None)
        payload = orjson.dumps(data, option=self.serialization_option, default=self.serialization_default)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, payload)


class ResultsMongoStore(MongoStore):
    """The results collection in MongoDB: an unreachable server is one line naming its host
    (never the URI, which can hold a password), after seconds, not pymongo's 30 s."""

    def connect(self, force_reset: bool = False) -> None:
        """Connect, and reach the server now (pymongo connects lazily)."""
        super().connect(force_reset=force_reset)
        try:
            self._coll.find_one({}, {"_id": 1})  # reaches the server and authenticates
        except PyMongoError as exc:
            raise InputError(
                f"results store at {host_of(self.uri or self.host)}",
                f"cannot be reached ({type(exc).__name__})",
                "check the URI, its password variable, VPN or firewall; or use a results file",
            ) from None


def results_store(location: str | Path | None = None) -> Store:
    """The results store: ``location``, else ``$IONFLOW_RESULTS``, else ``./ionflow-results.json``.

    A ``mongodb://`` or ``mongodb+srv://`` URI gives a MongoDB store (the URI's database, or
    ``ionflow``; collection ``results``); ``${VAR}`` references in it are expanded here.
    """
    where = _where(location)
    if is_mongodb(where):
        return _results_collection(where, "results", "result_id")
    return ResultsFileStore(where)


def _where(location: str | Path | None) -> str:
    """The results' location: given, else ``$IONFLOW_RESULTS``, else the default file; expanded."""
    return expand_secrets(str(location or os.environ.get(ENV_RESULTS) or DEFAULT_RESULTS))


def _results_collection(uri: str, collection: str, key: str) -> ResultsMongoStore:
    """A collection of the results' MongoDB database (the URI's, or ``ionflow``)."""
    return ResultsMongoStore.from_uri(
        uri,
        collection_name=collection,
        database=uri_database(uri) or "ionflow",
        key=key,
        mongoclient_kwargs={"serverSelectionTimeoutMS": SERVER_TIMEOUT_MS},
    )


def results_data_store(location: str | Path | None = None) -> Store:
    """Where the large parts of results go (a NEB's band geometries: emmet's ``NebResult``),
    beside the results store: ``RESULTS-data.json`` beside a results file, collection
    ``results_data`` beside a MongoDB one. jobflow's ``JobStore`` puts them there as its
    additional store ``data`` (one document per blob, keyed by ``blob_uuid``)."""
    where = _where(location)
    if is_mongodb(where):
        return _results_collection(where, "results_data", "blob_uuid")
    path = Path(where).expanduser().resolve()  # jobs write it from their own folders
    return ResultsFileStore(path.with_name(f"{path.stem}-data{path.suffix or '.json'}"), key="blob_uuid")


def save_results(store: Store, docs: Iterable[BaseModel]) -> int:
    """Upsert result documents into ``store`` (keyed by their ``result_id``), without their
    large parts (a document's ``LARGE_FIELDS``: those live in the data store); return how many."""
    rows = [
        {
            "result_id": d.result_id,  # type: ignore[attr-defined]
            "doc_type": type(d).__name__,
            **d.model_dump(mode="json", exclude=set(getattr(d, "LARGE_FIELDS", ()))),
        }
        for d in docs
    ]
    store.connect()
    try:
        if rows:
            store.update(rows, key="result_id")
    finally:
        store.close()
    return len(rows)


def completed_flow(store: Store, flow_key: str) -> dict | None:
    """The stored :class:`~ionflow.analysis.schemas.CompletedFlowRecord` of ``flow_key`` when
    every result it lists is stored too; else None (the flow has to run)."""
    store.connect()
    try:
        record = store.query_one({"doc_type": "CompletedFlowRecord", "result_id": flow_key})
        if record is None:
            return None
        ids = record["result_ids"]
        found = store.count({"result_id": {"$in": ids}}) if ids else 0
        return record if found == len(ids) else None
    finally:
        store.close()
