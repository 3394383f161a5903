"""Contact variants of an AP/carbon interface (the contact scan's models): each changes only
what touches the carbon, and the two Li variants change the stoichiometry by one Li."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.carbon import carbon_geometry
from ionflow.inputs.contacts import (
    AS_BUILT,
    BR_CONTACT,
    LI_INTERSTITIAL,
    LI_VACANCY,
    contact_variant,
    contact_variants,
)
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import REGION, build_ap_graphene_interface, build_cnt_on_ap


@pytest.fixture(scope="module")
def ap():
    return build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure


@pytest.fixture(scope="module", params=["LiCl", "Li2OH"])
def graphene(ap, request):
    return build_ap_graphene_interface(ap, termination=request.param, max_strain=0.1, max_area=40, vacuum=6.0)


def heights(structure, region):
    regions = structure.site_properties[REGION]
    return np.array([s.coords[2] for s, r in zip(structure, regions, strict=True) if r == region])


def test_each_variant_changes_only_the_contact(graphene):
    variants = contact_variants(graphene)
    built = variants[AS_BUILT]
    assert built.structure == graphene.structure and not built.polarity.polar
    n_li = graphene.structure.composition["Li"]
    # Br takes the place of Cl in the halide plane nearest the carbon
    br = variants[BR_CONTACT].structure
    assert len(br) == len(graphene.structure) and br.composition["Br"] > 0
    z_br = [s.coords[2] for s in br if s.specie.symbol == "Br"]
    z_cl = [s.coords[2] for s in br if s.specie.symbol == "Cl"]
    assert not z_cl or min(z_br) > max(z_cl)
    assert not variants[BR_CONTACT].polarity.polar  # isovalent: the stack stays non-polar
    # the added Li sits in the gap, between the slab's top plane and the carbon
    donor = variants[LI_INTERSTITIAL]
    assert donor.structure.composition["Li"] == n_li + 1 and donor.polarity.net_charge == 1
    z_ap, z_c = heights(graphene.structure, "AP").max(), heights(graphene.structure, "carbon").min()
    assert z_ap < heights(donor.structure, "AP").max() < z_c
    # the removed Li is one of the top plane
    acceptor = variants[LI_VACANCY]
    assert acceptor.structure.composition["Li"] == n_li - 1 and acceptor.polarity.net_charge == -1
    assert acceptor.info["contact"] == LI_VACANCY


def test_the_li_added_under_a_tube_sits_under_it(ap):
    tube = build_cnt_on_ap(
        ap, chirality=(3, 3), termination="Li2OH", clearance=2.5, max_length=8.0, max_strain=0.08
    )
    donor = contact_variant(tube, LI_INTERSTITIAL).structure
    geometry = carbon_geometry(tube.structure, tube.structure.site_properties[REGION])
    added = donor[len(donor) - 1]
    across = added.frac_coords[1] - geometry.across
    assert abs((across + 0.5) % 1 - 0.5) * donor.lattice.b < 2.0  # within 2 Å of the tube's axis


def test_an_oh_tilted_out_of_the_top_plane_leaves_the_planes_as_they_are(ap):
    """Relaxed, the top plane's OH points its H up (here 0.9 Å above the O): still one plane,
    whose Li is the one the vacancy takes and under which the added Li is placed."""
    model = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.1, max_area=40, vacuum=6.0)
    tilted = model.structure.copy()
    z_top = max(s.coords[2] for s, r in zip(tilted, tilted.site_properties[REGION], strict=True) if r == "AP")
    for i, site in enumerate(tilted):
        if site.specie.symbol == "H" and site.coords[2] > z_top - 0.1:
            tilted.translate_sites([i], [0, 0, 0.9], frac_coords=False)
    variants = contact_variants(type(model)(tilted, model.termination, model.strain, dict(model.info)))
    assert variants[LI_VACANCY].structure.composition["Li"] == tilted.composition["Li"] - 1
    assert variants[LI_INTERSTITIAL].structure.composition["Li"] == tilted.composition["Li"] + 1


def test_an_unknown_variant_is_one_clear_error(graphene):
    with pytest.raises(InputError, match="not a contact variant"):
        contact_variant(graphene, "Na at the contact")
