"""VASP engine: atomate2's VASP makers with ionflow's presets (``inputs/presets/vasp.yaml``).

The same steps as the embedded flows: relax (fixed cell) -> static with AECCAR0/2, CHGCAR and
LOCPOT -> Bader (baderkit on CHGCAR in AECCAR0+2 basins) -> potential; and CI-NEB with all
images in one VASP run. Inputs are written by atomate2's ``write_vasp_input_set``; POTCARs
come from the cluster's pymatgen setup (``PMG_VASP_PSP_DIR``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from atomate2.vasp.jobs.core import RelaxMaker, StaticMaker
from atomate2.vasp.jobs.neb import NebFromImagesMaker
from atomate2.vasp.sets.core import NebSetGenerator, RelaxSetGenerator, StaticSetGenerator
from pymatgen.core import Structure
from pymatgen.io.vasp import Kpoints

from ionflow.inputs.interface import REGION
from ionflow.inputs.presets import merged_settings

KSPACING = 0.25
"""Largest k-point spacing (1/Å, 2π included) of the VASP meshes."""


def is_slab(structure: Structure) -> bool:
    """True for a model with a ``region`` label (an interface: vacuum along c)."""
    return REGION in structure.site_properties


def gamma_mesh(structure: Structure, kspacing: float = KSPACING) -> Kpoints:
    """Gamma-centred mesh with at most ``kspacing`` between points; one point along a slab's c."""
    recip = structure.lattice.reciprocal_lattice.abc
    mesh = [max(1, math.ceil(r / kspacing)) for r in recip]
    if is_slab(structure):
        mesh[2] = 1
    return Kpoints.gamma_automatic(tuple(mesh))


def incar_settings(job: str, structure: Structure, overrides: dict | None = None) -> dict:
    """INCAR tags for ``job`` ("relax", "static_charge", "neb"): preset sections merged in one place.

    Interfaces add the ``interface`` section (DFT-D3, dipole correction along c).
    """
    sections = ["common", job] + (["interface"] if is_slab(structure) else [])
    return merged_settings("vasp", sections, overrides)


def relax_maker(structure: Structure, overrides: dict | None = None) -> RelaxMaker:
    """Fixed-cell relaxation (ISIF 2)."""
    generator = RelaxSetGenerator(
        user_incar_settings=incar_settings("relax", structure, overrides),
        user_kpoints_settings=gamma_mesh(structure),
    )
    return RelaxMaker(name="ionflow relax", input_set_generator=generator)


def static_charge_maker(structure: Structure, overrides: dict | None = None) -> StaticMaker:
    """Static run writing CHGCAR, AECCAR0/2 (LAECHG) and LOCPOT (LVHAR) for Bader and the potential."""
    generator = StaticSetGenerator(
        user_incar_settings=incar_settings("static_charge", structure, overrides),
        user_kpoints_settings=gamma_mesh(structure),
    )
    return StaticMaker(name="ionflow static charge", input_set_generator=generator)


def neb_maker(structure: Structure, n_images: int, overrides: dict | None = None) -> NebFromImagesMaker:
    """CI-NEB with all ``n_images`` intermediate images in one VASP run."""
    generator = NebSetGenerator(
        num_images=n_images,
        climbing_image=True,
        user_incar_settings=incar_settings("neb", structure, overrides),
        user_kpoints_settings=gamma_mesh(structure),
    )
    return NebFromImagesMaker(name="ionflow CI-NEB", input_set_generator=generator)


@dataclass
class VaspChargeTransferMaker:
    """Relax -> static charge run for an AP/carbon interface on VASP (the Bader/potential step
    reads the static run's folder with :func:`ionflow.analysis.bader.bader_from_vasp` and
    :func:`ionflow.analysis.potential.read_locpot`)."""

    name: str = "charge transfer (VASP)"
    incar_overrides: dict = field(default_factory=dict)

    def makers(self, structure: Structure) -> dict:
        """The atomate2 makers of each step, keyed by step."""
        return {
            "relax": relax_maker(structure, self.incar_overrides),
            "static_charge": static_charge_maker(structure, self.incar_overrides),
        }


def selective_dynamics_bottom(structure: Structure, fraction: float) -> Structure:
    """Copy with ``selective_dynamics``: AP atoms in the bottom ``fraction`` of the slab fixed."""
    z = structure.cart_coords[:, 2]
    regions = structure.site_properties[REGION]
    ap = np.array([r == "AP" for r in regions])
    cut = z[ap].min() + fraction * np.ptp(z[ap])
    flags = [[bool(zi > cut + 1e-6)] * 3 for zi in z]
    return structure.copy(site_properties={"selective_dynamics": flags})
