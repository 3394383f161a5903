"""Test stand-in for a MongoDB server: only the network endpoint is replaced.

No MongoDB server can be installed on the test machines (Debian 12 has none; the PyPI and npm
helpers download one at run time and fail). So ``pymongo.MongoClient`` is replaced, in this
process and (through ``standin_site/sitecustomize.py``) in every Python process started with
``IONFLOW_MONGO_STANDIN`` set (the CLI, SLURM batch jobs), by a client on mongomock whose data
live in one file per ``host:port`` under that folder, shared between processes by ionflow's
:class:`~ionflow.hpc.filedb.FileDatabase`. Everything above the client is the production code:
FireWorks' ``LaunchPad`` in URI mode, maggma's ``MongoStore``, jobflow-remote's stores.

The stand-in checks credentials: with ``IONFLOW_MONGO_STANDIN_AUTH=user:password`` a URI with
other credentials fails as a real server would (``OperationFailure``, code 18).

What stays untested: the wire protocol, authentication mechanisms, TLS, replica sets, server
side query semantics where mongomock differs from MongoDB.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import mongomock_ng.gridfs
import pymongo
import pymongo.mongo_client
from pymongo.errors import OperationFailure

from ionflow.hpc.filedb import FileDatabase

REAL_CLIENT = pymongo.MongoClient
ENV_FOLDER = "IONFLOW_MONGO_STANDIN"
ENV_AUTH = "IONFLOW_MONGO_STANDIN_AUTH"
_SERVERS: dict[Path, FileDatabase] = {}


def standin_client(host: str | None = None, port: int | None = None, *args, **kwargs):
    """What ``pymongo.MongoClient(uri, ...)`` returns while the stand-in is installed."""
    uri = host if isinstance(host, str) and "://" in host else f"mongodb://{host or 'localhost'}"
    if port and "://" not in str(host):
        uri += f":{port}"
    parsed = pymongo.uri_parser.parse_uri(uri, validate=False)
    expected = os.environ.get(ENV_AUTH)
    username = parsed.get("username") or kwargs.get("username")
    password = parsed.get("password") or kwargs.get("password")
    if expected and username is not None and f"{username}:{password}" != expected:
        raise OperationFailure("Authentication failed.", code=18)
    node_host, node_port = parsed["nodelist"][0]
    path = Path(os.environ[ENV_FOLDER]) / f"{node_host}_{node_port}.json"
    if path not in _SERVERS:
        _SERVERS[path] = FileDatabase(path)
    return _SERVERS[path].new_client()


def install() -> None:
    """Replace pymongo's client everywhere it has been imported by name (and let pymongo's
    GridFS take mongomock's databases, as mongomock's own integration does)."""
    mongomock_ng.gridfs.enable_gridfs_integration()
    for module in list(sys.modules.values()):
        if getattr(module, "MongoClient", None) is REAL_CLIENT:
            module.MongoClient = standin_client
    pymongo.MongoClient = standin_client
    pymongo.mongo_client.MongoClient = standin_client


def uninstall() -> None:
    """Put pymongo's own client back."""
    for module in list(sys.modules.values()):
        if getattr(module, "MongoClient", None) is standin_client:
            module.MongoClient = REAL_CLIENT
    _SERVERS.clear()
