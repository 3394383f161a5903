"""Variants of one AP/carbon contact, for a scan of which contact, if any, moves electrons
from the AP to the carbon.

Each variant changes only what touches the carbon, on a built interface (graphene or a lying
tube): the halide plane nearest the carbon made Br; a Li added between the AP's top plane and
the carbon (where the next AP plane's Li would sit, halfway across the gap: a donor); the Li of
the top plane nearest the carbon removed (an acceptor). The two Li variants change the slab's
stoichiometry on purpose: their AP side carries a net formal charge of +1 or -1, which is the
electron (or hole) the contact has to give away, not a polar stack.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from ionflow.inputs.carbon import carbon_geometry, distance_to_carbon
from ionflow.inputs.checks import assert_no_close_atoms
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import BULK_SITE, REGION, InterfaceModel, with_polarity

AS_BUILT = "as built"
BR_CONTACT = "Br at the contact"
LI_INTERSTITIAL = "Li interstitial at the contact"
LI_VACANCY = "Li vacancy at the contact"
CONTACT_CHANGES = (AS_BUILT, BR_CONTACT, LI_INTERSTITIAL, LI_VACANCY)
DEFECTS = {LI_INTERSTITIAL: "Li interstitial (donor)", LI_VACANCY: "Li vacancy (acceptor)"}
"""The variants that change the slab's stoichiometry, and what they are."""
PLANE = 0.5
"""Å: AP atoms this close in height form one (001) plane."""


def _ap_planes(structure: Structure, ap: list[int]) -> list[list[int]]:
    """The AP atoms but H grouped in (001) planes, top plane first (the H of an OH group tilts
    out of its O's plane when the slab is relaxed, and would make a plane of its own)."""
    z = structure.cart_coords[:, 2]
    planes: list[list[int]] = []
    heavy = [i for i in ap if structure[i].specie.symbol != "H"]
    for i in sorted(heavy, key=lambda k: -z[k]):
        if planes and z[planes[-1][0]] - z[i] < PLANE:
            planes[-1].append(i)
        else:
            planes.append([i])
    return planes


def _nearest_carbon(structure: Structure, candidates: list[int], regions: list[str]) -> int:
    """The candidate closest to any carbon atom (periodic)."""
    return candidates[int(np.argmin(distance_to_carbon(structure, candidates, regions)))]


def contact_variant(model: InterfaceModel, change: str) -> InterfaceModel:
    """``model`` with its contact changed (one of :data:`CONTACT_CHANGES`), its polarity
    recomputed and the change in ``info["contact"]``."""
    if change not in CONTACT_CHANGES:
        raise InputError(
            "contact", f"{change!r} is not a contact variant", f"use one of {', '.join(CONTACT_CHANGES)}"
        )
    structure = model.structure.copy()
    regions = structure.site_properties[REGION]
    ap = [i for i, r in enumerate(regions) if r == "AP"]
    planes = _ap_planes(structure, ap)
    if change == BR_CONTACT:
        halides = [
            next((i for i in plane if structure[i].specie.symbol in ("Cl", "Br")), None) for plane in planes
        ]
        top = next((plane for plane, h in zip(planes, halides, strict=True) if h is not None), None)
        if top is None:
            raise InputError(
                "contact", "the AP slab has no halide plane", "build the interface from an AP bulk"
            )
        for i in top:
            if structure[i].specie.symbol == "Cl":
                structure.replace(i, "Br", properties={REGION: "AP", BULK_SITE: -1})
    elif change == LI_VACANCY:
        top_li = [i for i in planes[0] if structure[i].specie.symbol == "Li"]
        if not top_li:
            raise InputError(
                "contact", "the top AP plane has no Li", "build the interface with another termination"
            )
        structure.remove_sites([_nearest_carbon(structure, top_li, regions)])
    elif change == LI_INTERSTITIAL:
        if len(planes) < 2:
            raise InputError("contact", "the AP slab has one plane", "build a thicker slab")
        # the next plane up repeats the one under the top plane: its Li sites, one plane higher
        below = [i for i in planes[1] if structure[i].specie.symbol == "Li"]
        site = _nearest_carbon(structure, below, regions)
        z_top = structure.cart_coords[planes[0], 2].max()
        z_carbon = carbon_geometry(structure, regions).z_facing
        x, y, _ = structure.cart_coords[site]
        structure.append(
            "Li",
            [x, y, 0.5 * (z_top + z_carbon)],
            coords_are_cartesian=True,
            properties={REGION: "AP", BULK_SITE: -1},
        )
    if change != AS_BUILT:
        assert_no_close_atoms(structure, f"interface with {change}")
    info = {**model.info, "contact": change}
    varied = InterfaceModel(structure, model.termination, model.strain, info)
    return with_polarity(varied, model.info.get("stacking_axis", "c"))


def contact_variants(
    model: InterfaceModel, changes: tuple[str, ...] = CONTACT_CHANGES
) -> dict[str, InterfaceModel]:
    """One model per change, the built one first."""
    return {change: contact_variant(model, change) for change in changes}


__all__ = ["CONTACT_CHANGES", "DEFECTS", "contact_variant", "contact_variants"]
