"""Charge-transfer flow for an AP/carbon interface on the embedded engine.

relax (fixed cell, bottom of the AP slab fixed; machine-learned potential) -> static DFT with
the all-electron density and the potential written (GPAW) -> Bader charges per atom and per
region -> planar-averaged potential, potential step and built-in field. With references, the
separated AP slab and carbon sheet are computed in the same cell, and the field is taken from
the difference potential U_interface - U_AP - U_carbon, which keeps only what the charge
transfer did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jobflow import Job, job
from pymatgen.core import Structure

from ionflow.analysis.bader import bader_from_cube
from ionflow.analysis.potential import potential_summary, read_potential_cube
from ionflow.analysis.schemas import BaderChargesDoc, InterfaceChargeTransferDoc, Provenance
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import REGION
from ionflow.workflows.base import AP_PERIOD, BaseChargeTransferMaker, check_interface, current_job_uuid
from ionflow.workflows.embedded import CountedRelaxMaker
from ionflow.workflows.gpaw_engine import run_static_density
from ionflow.workflows.settings import ChargeTransferSettings


def centred_along_c(structure: Structure) -> Structure:
    """The slab moved to the middle of the cell along c (the dipole layer sits at the boundary)."""
    z = structure.cart_coords[:, 2]
    shift = 0.5 * structure.lattice.c - 0.5 * (z.min() + z.max())
    out = structure.copy()
    out.translate_sites(list(range(len(out))), [0, 0, shift], frac_coords=False, to_unit_cell=True)
    return out


@job
def relax_interface(structure: Structure, settings: ChargeTransferSettings) -> dict:
    """Relax at fixed cell on the machine-learned potential; the bottom of the AP slab stays fixed."""
    start = time.perf_counter()
    regions = check_interface(structure)
    z = structure.cart_coords[:, 2]
    ap = np.array([r == "AP" for r in regions])
    z_lo, z_hi = z[ap].min(), z[ap].max()
    cut = z_lo + settings.relax.fix_bottom * (z_hi - z_lo)
    moving = [[bool(zi > cut + 1e-6)] * 3 for zi in z]
    work = structure.copy(site_properties={"selective_dynamics": moving})
    maker = CountedRelaxMaker(
        force_field_name=settings.model,
        dispersion=settings.dispersion,
        relax_cell=False,
        steps=settings.relax.steps,
        relax_kwargs={"fmax": settings.relax.fmax},
    )
    result = maker._run_ase_safe(work)
    relaxed = result.final_mol_or_struct.copy()
    relaxed.remove_site_property("selective_dynamics")
    relaxed.add_site_property(REGION, regions)
    return {
        "structure": centred_along_c(relaxed),
        "converged": bool(result.is_force_converged),
        "force_calls": maker.force_calls,
        "fixed_atoms": int(sum(not m[0] for m in moving)),
        "engine": settings.engine,
        "wall_time_s": time.perf_counter() - start,
    }


@job
def static_density(structure: Structure, settings: ChargeTransferSettings, part: str = "interface") -> dict:
    """GPAW static run of ``part`` ("interface", "AP" or "carbon") of the interface; the
    all-electron density (for Bader) of the interface only, the parts' potentials (references)."""
    if part != "interface":
        regions = structure.site_properties[REGION]
        structure = Structure.from_sites(
            [site for site, r in zip(structure, regions, strict=True) if r == part]
        )
    run = run_static_density(
        structure, settings.dft, Path.cwd() / part, slab=True, density=part == "interface"
    )
    return {**run, "part": part}


def bader_document(
    structure: Structure, run: dict, settings: ChargeTransferSettings, regions: list[str] | None
) -> BaderChargesDoc:
    """Bader charges of the all-electron density of ``run``."""
    bader_structure, partition = bader_from_cube(run["files"]["density"], **settings.bader.model_dump())
    if len(bader_structure) != len(structure):
        raise InputError(run["files"]["density"], "does not match the structure", "rerun the static job")
    return BaderChargesDoc.from_partition(
        structure,
        partition,
        [float(z) for z in bader_structure.atomic_numbers],
        regions,
        expected_electrons=run["n_electrons"],
        method=f"baderkit {partition.method} on the all-electron density",
        engine="embedded:GPAW",
    )


@job
def interface_charge_transfer(
    relaxed: dict,
    interface_run: dict,
    reference_runs: list[dict],
    settings: ChargeTransferSettings,
    meta: dict,
    relax_interface: bool = True,
) -> InterfaceChargeTransferDoc:
    """Bader charges per region, the potential profile, its step and the built-in field."""
    start = time.perf_counter()
    structure: Structure = relaxed["structure"]
    regions = check_interface(structure)
    bader = bader_document(structure, interface_run, settings, regions)
    period = settings.period or meta.get("period") or AP_PERIOD
    summary = potential_summary(
        read_potential_cube(interface_run["files"]["potential"]),
        regions,
        period,
        [read_potential_cube(run["files"]["potential"]) for run in reference_runs],
    )
    runs = [interface_run, *reference_runs]
    return InterfaceChargeTransferDoc.from_parts(
        structure,
        bader,
        summary,
        meta,
        energy=interface_run["energy"],
        converged=bool(relaxed["converged"]),
        # what actually ran: the relaxation's potential (if any), then GPAW
        engine="embedded:" + "+".join([*filter(None, [relaxed.get("engine", "")]), "GPAW"]),
        settings={
            **settings.model_dump(),
            "references": bool(reference_runs),
            "relax_interface": relax_interface,
        },
        force_calls=int(relaxed["force_calls"]),
        wall_time_s=relaxed["wall_time_s"]
        + sum(r["wall_time_s"] for r in runs)
        + time.perf_counter()
        - start,
        provenance=Provenance(
            job_uuid=current_job_uuid(), source_files=[f for r in runs for f in r["files"].values()]
        ),
    )


@dataclass
class ChargeTransferMaker(BaseChargeTransferMaker):
    """Charge transfer across an AP/carbon interface on the embedded engine: relaxation on the
    machine-learned potential (DFT-D3 on), static runs on GPAW, Bader by baderkit.

    Parameters
    ----------
    settings
        Potential, GPAW, relaxation, Bader and the averaging window (defaults: the
        ``embedded`` preset), e.g. ``ChargeTransferSettings(dft={"h": 0.18})``.
    """

    settings: ChargeTransferSettings = field(default_factory=ChargeTransferSettings)

    def relax_job(self, structure: Structure, interface: str) -> Job:
        """Fixed cell, bottom of the AP slab fixed, on the potential."""
        return relax_interface(structure, self.settings)

    def unrelaxed(self, structure: Structure) -> dict:
        """The built interface, centred, in the relaxation's output form."""
        return {
            "engine": "",
            "structure": centred_along_c(structure),
            "converged": True,
            "force_calls": 0,
            "wall_time_s": 0.0,
        }

    def static_jobs(
        self, structure: Structure, relaxed: dict, parts: tuple[str, ...], interface: str
    ) -> list[Job]:
        """GPAW on each part of the relaxed interface."""
        return [static_density(relaxed["structure"], self.settings, part) for part in parts]

    def analysis_job(self, structure: Structure, relaxed: dict, statics: list[Job], meta: dict) -> Job:
        """Bader and potential from the GPAW cubes."""
        return interface_charge_transfer(
            relaxed, statics[0].output, [s.output for s in statics[1:]], self.settings, meta, self.relax
        )


__all__ = ["ChargeTransferMaker"]
