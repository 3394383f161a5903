"""Polarity of AP slabs: formal plane charges, the stack's dipole and its Tasker type.

Physics checked: a slab of whole cells is neutral (plane charges sum to zero); planes of
formal charge -q and +q a distance d apart carry a dipole q·d per area, which changes sign with
the termination (the same stack upside down); a stack of neutral planes has none (type I), a
symmetric stack of charged planes none either (type II). In the two-formula-unit Li2OHCl cell
the Li vacancy sits in the halide plane along c (Cl2 -2 | Li4O2H2 +2: polar) and in the O plane
along a (Li2Cl2 0 | Li2O2H2 0: non-polar), so the builder's non-polar stacking turns it.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import ap_slab, build_ap_graphene_interface, non_polar_stacking
from ionflow.inputs.polarity import POLAR_DIPOLE, region_polarity, slab_polarity


@pytest.fixture(scope="module")
def li2ohcl():
    """Li2OHCl, one formula unit per cubic frame: its one Li vacancy on a halide-plane face."""
    return build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure


def area(structure: Structure) -> float:
    return float(np.linalg.norm(np.cross(*structure.lattice.matrix[:2])))


@pytest.mark.parametrize("termination", ["Li2OH", "LiCl"])
def test_the_vacancy_in_the_halide_plane_makes_a_polar_stack(li2ohcl, termination):
    model = build_ap_graphene_interface(
        li2ohcl, termination=termination, max_strain=0.1, max_area=40, vacuum=6.0, non_polar=False
    )
    polarity = model.polarity
    assert polarity.tasker == "III" and polarity.polar and model.info["polarity"]["polar"]
    charges = {p.formula: p.charge for p in polarity.planes}
    assert charges == {"Cl2": -2.0, "Li4H2O2": 2.0}
    assert polarity.net_charge == 0.0  # whole cells: neutral
    low, high = polarity.planes
    spacing = high.height - low.height
    assert spacing == pytest.approx(li2ohcl.lattice.c / 2, abs=0.1)  # halide and O planes: c/2 apart
    ap = Structure.from_sites([s for s in model.structure if s.properties["region"] == "AP"])
    expected = (high.charge * high.height + low.charge * low.height) / area(ap)
    assert polarity.dipole_per_area == pytest.approx(expected)
    assert abs(polarity.dipole_per_area) == pytest.approx(2 * spacing / area(ap), rel=1e-6)
    # the top plane faces the carbon: Li2OH on top points the dipole up, LiCl on top down
    assert np.sign(polarity.dipole_per_area) == (1 if termination == "Li2OH" else -1)


@pytest.mark.parametrize("termination", ["Li2OH", "LiCl"])
def test_the_non_polar_stacking_puts_the_vacancy_in_the_oxygen_plane(li2ohcl, termination):
    model = build_ap_graphene_interface(
        li2ohcl, termination=termination, max_strain=0.1, max_area=40, vacuum=6.0
    )
    polarity = model.polarity
    assert model.info["stacking_axis"] == "a" and polarity.tasker == "I" and not polarity.polar
    assert {p.formula: p.charge for p in polarity.planes} == {"Li2Cl2": 0.0, "Li2H2O2": 0.0}
    assert polarity.dipole_per_area == 0.0
    assert (
        model.structure.composition
        == build_ap_graphene_interface(
            li2ohcl, termination=termination, max_strain=0.1, max_area=40, vacuum=6.0, non_polar=False
        ).structure.composition
    )  # the same atoms, stacked along another axis
    top = max(polarity.planes, key=lambda p: p.height).formula
    assert top == ("Li2H2O2" if termination == "Li2OH" else "Li2Cl2")


def test_an_ordering_polar_along_every_axis_is_reported_not_hidden():
    """The third-ranked Li2OH(Cl0.75Br0.25) 2x2x1 ordering has Li vacancies in both kinds of
    plane (Li3BrCl3 -1 | Li5O4H4 +1) along every axis: the builder keeps c and says polar."""
    orderings = build_ap_orderings(x_br=0.25, supercell=(2, 2, 1), keep=3)[0]
    _, axis, polarity = non_polar_stacking(orderings[2].structure, "Li2OH")
    assert axis == "c" and polarity.polar
    assert sorted(p.charge for p in polarity.planes) == [-1.0, 1.0]
    for ordering in orderings[:2]:  # the two lowest Ewald energies stack non-polar along c
        assert not non_polar_stacking(ordering.structure, "Li2OH")[2].polar


def test_the_main_jobs_lowest_orderings_stack_non_polar_as_built():
    """The main job's AP cell (1x1x4, x = 0.25): its two lowest orderings' slabs (the CNT model
    on the lowest: tests/inputs/test_interface.py)."""
    orderings = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=2)[0]
    for ordering in orderings:
        for termination in ("LiCl", "Li2OH"):
            slab = ap_slab(ordering.structure, 1, termination, vacuum=10.0)
            assert slab_polarity(slab).tasker == "I"


def test_a_symmetric_stack_of_charged_planes_is_tasker_type_two():
    """Cl- | Li2 2+ | Cl-: charged planes, mirror-symmetric, no dipole."""
    lattice = Lattice.orthorhombic(4.0, 4.0, 20.0)
    coords = [[0, 0, 0.40], [0.5, 0, 0.5], [0, 0.5, 0.5], [0, 0, 0.60]]
    polarity = slab_polarity(Structure(lattice, ["Cl", "Li", "Li", "Cl"], coords))
    assert polarity.tasker == "II" and not polarity.polar
    assert [p.charge for p in polarity.planes] == [-1.0, 2.0, -1.0]
    assert abs(polarity.dipole_per_area) < 1e-12 < POLAR_DIPOLE


def test_an_element_without_a_formal_charge_is_a_clear_error():
    lattice = Lattice.orthorhombic(4.0, 4.0, 20.0)
    with pytest.raises(InputError) as err:
        slab_polarity(Structure(lattice, ["Fe", "Cl"], [[0, 0, 0.4], [0, 0, 0.5]]), "my slab")
    assert "my slab" in str(err.value) and "Fe" in str(err.value)
    with pytest.raises(InputError):
        region_polarity(Structure(lattice, ["Li"], [[0, 0, 0.5]]))  # no region labels
