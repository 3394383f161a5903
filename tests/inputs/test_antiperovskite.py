import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher

from ionflow.inputs.antiperovskite import build_ap_orderings, vegard_lattice_parameter
from ionflow.inputs.checks import closest_pair, net_charge
from ionflow.inputs.errors import InputError
from tests.conftest import OX


@pytest.mark.parametrize(
    ("x", "cell"), [(0.25, (2, 2, 1)), (0.0, (1, 1, 1)), (0.5, (1, 1, 2)), (0.25, (1, 1, 4))]
)
def test_composition_neutral_and_x_realised(x, cell):
    ranked, summary = build_ap_orderings(x_br=x, supercell=cell, keep=3)
    n_fu = int(np.prod(cell))
    for o in ranked:
        comp = o.structure.composition
        assert comp["Li"] == 2 * n_fu and comp["O"] == n_fu and comp["H"] == n_fu
        assert comp["Br"] == pytest.approx(x * n_fu)
        assert comp["Cl"] + comp["Br"] == n_fu
        assert net_charge(o.structure, OX) == 0
    assert summary["x_br_realised"] == pytest.approx(x)


def test_geometry_oh_bonds_and_no_close_atoms():
    ranked, _ = build_ap_orderings(x_br=0.25, supercell=(2, 2, 1), keep=3)
    for o in ranked:
        s = o.structure
        assert closest_pair(s)[0] > 0.7
        dmat = s.distance_matrix
        h_idx = [i for i, site in enumerate(s) if site.specie.symbol == "H"]
        o_idx = [i for i, site in enumerate(s) if site.specie.symbol == "O"]
        li_idx = [i for i, site in enumerate(s) if site.specie.symbol == "Li"]
        # each H is bonded to exactly one O at the O-H bond length
        assert np.allclose(dmat[np.ix_(h_idx, o_idx)].min(axis=1), 0.97, atol=1e-6)
        # the proton points at a vacant Li site: no Li+ near it
        assert dmat[np.ix_(h_idx, li_idx)].min() > 1.5


def test_orderings_are_distinct_and_ranked():
    ranked, summary = build_ap_orderings(x_br=0.5, supercell=(1, 1, 2), keep=5)
    assert summary["method"] == "exhaustive"
    energies = [o.energy_per_atom for o in ranked]
    assert energies == sorted(energies)
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    for i in range(len(ranked)):
        for j in range(i + 1, len(ranked)):
            assert not matcher.fit(ranked[i].structure, ranked[j].structure)


def test_exhaustive_li2ohcl_primitive_has_one_distinct_ordering():
    # one f.u.: three vacancy choices x two O-H senses, all related by the cubic symmetry
    ranked, summary = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=5)
    assert summary["candidates"] == 6
    assert len(ranked) == 1 and ranked[0].multiplicity == 6


def test_seeded_sampling_is_reproducible():
    a, _ = build_ap_orderings(x_br=0.25, supercell=(2, 2, 1), seed=7, n_samples=60, keep=2)
    b, _ = build_ap_orderings(x_br=0.25, supercell=(2, 2, 1), seed=7, n_samples=60, keep=2)
    assert [o.labels for o in a] == [o.labels for o in b]
    assert np.allclose(a[0].structure.frac_coords, b[0].structure.frac_coords)


def test_vegard_lattice_between_end_members():
    a_cl, a_br = vegard_lattice_parameter(0.0), vegard_lattice_parameter(1.0)
    assert a_cl < vegard_lattice_parameter(0.25) < a_br
    assert vegard_lattice_parameter(0.25) == pytest.approx(0.75 * a_cl + 0.25 * a_br)
    ranked, _summary = build_ap_orderings(x_br=0.25, supercell=(2, 2, 1), keep=1)
    assert ranked[0].structure.lattice.a == pytest.approx(2 * a_cl * 0.75 + 2 * a_br * 0.25)


def test_x_not_realisable_names_option_and_fix():
    with pytest.raises(InputError) as err:
        build_ap_orderings(x_br=0.3, supercell=(2, 2, 1))
    assert err.value.source == "--x-br"
    assert "x = 0.25" in err.value.fix
