"""The end points' site guard: the moving ion's drift from its cut site, and the search pinned at
the site when a relaxation carried the ion into another minimum (real EMT on fcc Cu, 31 atoms)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure

from ionflow.inputs.hops import site_drift
from ionflow.workflows.end_points import relaxed_end_points, site_search
from ionflow.workflows.settings import NebSettings
from tests.workflows.test_warm_start import cu_vacancy_hop

EMT = NebSettings(model="EMT", n_images=3)


def moved(structure: Structure, index: int, cartesian: np.ndarray) -> Structure:
    """``structure`` with atom ``index`` at ``cartesian`` (Å)."""
    out = structure.copy()
    out.replace(index, out[index].species, cartesian, coords_are_cartesian=True)
    return out


def test_site_drift_is_the_ions_own_move_not_the_cells_rigid_shift():
    hop = cu_vacancy_hop()
    shifted = hop.final.copy()
    # the whole cell shifted, some atoms across its edge
    shifted.translate_sites(range(len(shifted)), [0.3, -0.2, 0.9], frac_coords=False)
    assert site_drift(hop.final, shifted, hop.moving_index) == pytest.approx(0.0, abs=1e-9)
    step = np.array([0.4, 0.0, -0.3])
    ion = moved(shifted, hop.moving_index, shifted[hop.moving_index].coords + step)
    assert site_drift(hop.final, ion, hop.moving_index) == pytest.approx(0.5, abs=1e-9)


def test_an_end_point_carried_off_its_site_is_searched_again_from_its_site():
    """The final end point started with the ion in the octahedral hole at the cube centre
    beside its site, away from the vacancy (two vacancies and an interstitial 3.1 Å from its
    site: a Frenkel pair, a minimum of its own on EMT). The plain relaxation stays off the site;
    the search pinned at the site finds the vacancy-hop end point, eV lower, which the
    relaxation from the cut finds too: that one is kept."""
    hop = cu_vacancy_hop()
    i = hop.moving_index
    site, vacancy = hop.final[i].coords, hop.initial[i].coords
    away = np.where(np.abs(vacancy - site) > 0.1, -np.sign(vacancy - site), 1.0)
    off_site = moved(hop.final, i, site + 3.61 / 2 * away)
    from_cut = relaxed_end_points(hop.initial, hop.final, EMT)
    plain_settings = EMT.model_copy(update={"end_point_site_drift": 100.0})  # never searches again
    stays_off = relaxed_end_points(hop.initial, off_site, plain_settings, cut=[hop.initial, hop.final])
    assert stays_off.site_drift[1] > 1.0  # the relaxation kept the ion off its site
    searched = relaxed_end_points(hop.initial, off_site, EMT, cut=[hop.initial, hop.final])
    assert searched.site_drift[1] < 0.1 and searched.converged
    assert searched.energies[1] == pytest.approx(from_cut.energies[1], abs=1e-3)
    assert stays_off.energies[1] - searched.energies[1] > 1.0  # a Frenkel pair costs eV
    assert searched.force_calls > stays_off.force_calls  # the search's calls are counted


def test_a_search_whose_ion_slides_onto_the_other_site_is_not_on_site():
    """Pinned a fifth of the way from the vacancy (the hop's other site) to its own site, then
    released, the ion falls back into the vacancy: the guard says so."""
    hop = cu_vacancy_hop()
    i = hop.moving_index
    vacancy, site = hop.initial[i].coords, hop.final[i].coords
    near_vacancy = moved(hop.final, i, vacancy + 0.2 * (site - vacancy))
    found = site_search(near_vacancy, hop.initial, i, EMT)
    assert site_drift(hop.initial, found.structure, i) < 0.1  # back on the vacancy's site
    assert not found.on_site
    assert site_search(hop.final, hop.initial, i, EMT).on_site


def test_the_site_search_keeps_the_atoms_the_cut_holds_fixed():
    """A cut whose selective dynamics fix an atom (a slab's bottom, say): that atom stays where
    it is through both stages of the search, and the end point keeps the flags."""
    hop = cu_vacancy_hop()
    i = hop.moving_index
    fixed = next(j for j in range(len(hop.final)) if j != i and hop.final.get_distance(i, j) < 3.0)
    flags = [[j != fixed] * 3 for j in range(len(hop.final))]
    cut = hop.final.copy(site_properties={"selective_dynamics": flags})
    found = site_search(cut, hop.initial, i, EMT)
    assert np.allclose(found.structure[fixed].coords, cut[fixed].coords, atol=1e-8)
    assert found.structure.site_properties["selective_dynamics"][fixed] == [False] * 3
    assert found.on_site
