"""Shared fixtures: small, real models built once per session."""

from __future__ import annotations

import pytest
from pymatgen.core import Structure

OX = {"Li": 1, "Cu": 1, "O": -2, "H": 1, "Cl": -1, "Br": -1, "P": 5, "S": -2, "C": 0}


@pytest.fixture(scope="session")
def ap_bulk() -> Structure:
    """Lowest-Ewald Li2OH(Cl0.75Br0.25) ordering of a 1x1x4 cell."""
    from ionflow.inputs.antiperovskite import build_ap_orderings

    return build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1)[0][0].structure
