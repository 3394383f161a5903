"""Installs the MongoDB stand-in (tests/hpc/mongo_standin.py) in every Python process that a
test starts with IONFLOW_MONGO_STANDIN set: the ionflow CLI and the SLURM batch jobs."""

import os

if os.environ.get("IONFLOW_MONGO_STANDIN"):
    from tests.hpc.mongo_standin import install

    install()
