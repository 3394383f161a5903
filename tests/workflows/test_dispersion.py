"""DFT-D3 on top of the machine-learned potential: it binds graphene layers, and is counted once."""

from __future__ import annotations

import numpy as np
from ase.build import graphene

from ionflow.workflows.embedded import CountedRelaxMaker


def bilayer(gap: float = 3.35):
    bottom = graphene(size=(2, 2, 1), vacuum=10.0)
    top = bottom.copy()
    top.positions[:, 2] += gap
    top.positions[:, 0] += bottom.cell[0, 0] / 2  # AB stacking: shift by one C-C bond
    both = bottom + top
    both.pbc = True
    return both, len(bottom)


def test_d3_pulls_graphene_layers_together_and_counts_one_call():
    atoms, n = bilayer()
    forces = {}
    for dispersion in (False, True):
        maker = CountedRelaxMaker(force_field_name="CHGNet", dispersion=dispersion)
        atoms.calc = maker.calculator
        forces[dispersion] = atoms.get_forces()
        assert maker.force_calls == 1
    d3 = forces[True] - forces[False]
    # attraction: the top layer is pushed down, the bottom one up, equally (Newton's third law)
    assert d3[n:, 2].sum() < -1e-3
    assert np.isclose(d3[n:, 2].sum(), -d3[:n, 2].sum(), atol=1e-4)
