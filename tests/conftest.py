"""Shared fixtures: small, real models built once per session."""

from __future__ import annotations

import os

import pytest
from pymatgen.core import Structure

if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # the pytest-xdist workers share the machine's cores: one thread each (torch, BLAS, GPAW's
    # OpenMP), set before anything imports torch; the processes the tests start inherit it
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

OX = {"Li": 1, "Cu": 1, "O": -2, "H": 1, "Cl": -1, "Br": -1, "P": 5, "S": -2, "C": 0}


@pytest.fixture(scope="session")
def ap_bulk() -> Structure:
    """Lowest-Ewald Li2OH(Cl0.75Br0.25) ordering of a 1x1x4 cell."""
    from ionflow.inputs.antiperovskite import build_ap_orderings

    return build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1)[0][0].structure
