"""VASP engine: atomate2's VASP makers with ionflow's presets (``inputs/presets/vasp.yaml``).

The same steps as the embedded flows: relax (fixed cell) -> static with AECCAR0/2, CHGCAR and
LOCPOT -> Bader (baderkit on CHGCAR in AECCAR0+2 basins) -> potential; and CI-NEB with all
images in one VASP run. Inputs are written by atomate2's ``write_vasp_input_set``; POTCARs
come from the cluster's pymatgen setup (``PMG_VASP_PSP_DIR``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from atomate2.vasp.jobs.core import RelaxMaker, StaticMaker
from atomate2.vasp.sets.core import NebSetGenerator, RelaxSetGenerator, StaticSetGenerator
from jobflow import Job, job
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp import Kpoints

from ionflow.analysis.neb import barrier_from_vasp_neb
from ionflow.analysis.schemas import (
    InterfaceChargeTransferDoc,
    MigrationBarrierDoc,
    Provenance,
)
from ionflow.analysis.vasp_charges import charge_transfer_from_vasp
from ionflow.inputs.hops import HopPath, interpolate_idpp
from ionflow.inputs.interface import REGION
from ionflow.inputs.presets import merged_settings
from ionflow.workflows.base import (
    AP_PERIOD,
    BaseChargeTransferMaker,
    BaseMigrationBarrierMaker,
    current_job_uuid,
)
from ionflow.workflows.rounds import corrected_rounds
from ionflow.workflows.settings import VASP_MODEL, BaderSettings, NebSettings, VaspFlowSettings
from ionflow.workflows.vasp_neb import ResumableNebMaker
from ionflow.workflows.warm_start import (
    climb_band,
    counted_calculator,
    end_corrected_band,
    measurement_at,
)

VASP = VaspFlowSettings()
"""The VASP flows' defaults (preset ``vasp``, section ``flow``)."""


def is_slab(structure: Structure) -> bool:
    """True for a model with a ``region`` label (an interface: vacuum along c)."""
    return REGION in structure.site_properties


def gamma_mesh(structure: Structure, kspacing: float = VASP.kspacing, slab: bool | None = None) -> Kpoints:
    """Gamma-centred mesh with at most ``kspacing`` between points; one point along a slab's c
    (``slab``; None: a structure with region labels is one)."""
    recip = structure.lattice.reciprocal_lattice.abc
    mesh = [max(1, math.ceil(r / kspacing)) for r in recip]
    if is_slab(structure) if slab is None else slab:
        mesh[2] = 1
    return Kpoints.gamma_automatic(tuple(mesh))


def incar_settings(job: str, structure: Structure, overrides: dict | None = None) -> dict:
    """INCAR tags for ``job`` ("relax", "static_charge", "neb"): preset sections merged in one place.

    Interfaces add the ``interface`` section (DFT-D3, dipole correction along c).
    """
    sections = ["common", job] + (["interface"] if is_slab(structure) else [])
    return merged_settings("vasp", sections, overrides)


def single_point_incar(slab: bool, overrides: dict | None = None) -> dict:
    """INCAR tags of one image's single point in the warm start's rounds: ``common`` +
    ``neb_single_point`` (+ ``interface`` for a slab), then the user's overrides, without EDIFFG
    (the rounds' own force criterion): the relaxations' electronic settings, so the band's
    energies compare with the end points'."""
    sections = ["common", "neb_single_point"] + (["interface"] if slab else [])
    incar = merged_settings("vasp", sections, overrides)
    incar.pop("EDIFFG", None)
    return incar


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


def neb_maker(structure: Structure, n_images: int, overrides: dict | None = None) -> ResumableNebMaker:
    """CI-NEB with all ``n_images`` intermediate images in one VASP run, with custodian
    handlers that see a NEB, resuming an interrupted band (:mod:`ionflow.workflows.vasp_neb`)."""
    generator = NebSetGenerator(
        num_images=n_images,
        climbing_image=True,
        user_incar_settings=incar_settings("neb", structure, overrides),
        user_kpoints_settings=gamma_mesh(structure),
    )
    return ResumableNebMaker(name="ionflow CI-NEB", input_set_generator=generator)


def run_folder(dir_name: str) -> Path:
    """The local path of an atomate2 ``dir_name`` (written ``host:/path``)."""
    return Path(str(dir_name).split(":", 1)[-1])


def task_cost(outputs: list) -> tuple[int, float]:
    """Force calls (ionic steps) and wall time (s) of finished atomate2 VASP jobs, from their
    task documents (atomate2 parsed them from the OUTCARs)."""
    calls = sum(len(o.calcs_reversed[0].output.ionic_steps) for o in outputs)
    seconds = sum(o.run_stats["overall"].elapsed_time for o in outputs if o.run_stats)
    return calls, float(seconds)


@job
def vasp_interface_charge_transfer(
    static_dir: str,
    reference_dirs: list[str],
    structure: Structure,
    energy: float,
    meta: dict,
    settings: dict,
    state: str = "successful",
) -> InterfaceChargeTransferDoc:
    """Bader charges, region charges and potential of the VASP static runs
    (:func:`ionflow.analysis.vasp_charges.charge_transfer_from_vasp`, which ``ionflow parse
    charges`` runs too); the relaxation's cost is in its own task document."""
    return charge_transfer_from_vasp(
        run_folder(static_dir),
        [run_folder(d) for d in reference_dirs],
        meta,
        settings,
        structure=structure,
        energy=float(energy),
        converged=str(getattr(state, "value", state)) == "successful",
        job_uuid=current_job_uuid(),
    )


@dataclass
class VaspChargeTransferMaker(BaseChargeTransferMaker):
    """Relax (fixed cell, bottom fixed) -> static charge run(s) -> Bader and potential, on VASP.

    Parameters
    ----------
    incar_overrides
        INCAR tags applied over the ``vasp`` preset.
    fix_bottom
        Fraction of the AP slab's thickness kept fixed in the relaxation.
    period
        Window (Å) of the macroscopic average: one AP cell along the normal.
    """

    name: str = "charge transfer (VASP)"
    incar_overrides: dict = field(default_factory=dict)
    fix_bottom: float = VASP.fix_bottom
    period: float = AP_PERIOD

    def prepared(self, structure: Structure) -> Structure:
        """Sorted by species: VASP's POSCAR groups them, and the flow's atom order stays VASP's."""
        return structure.get_sorted_structure()

    def relax_job(self, structure: Structure, interface: str) -> Job:
        """atomate2's fixed-cell relaxation, the bottom of the AP slab fixed (selective dynamics)."""
        fixed = selective_dynamics_bottom(structure, self.fix_bottom)
        return relax_maker(fixed, self.incar_overrides).make(fixed)

    def unrelaxed(self, structure: Structure) -> None:
        """No relaxation: the static run starts from the built interface."""
        return None

    def static_jobs(self, structure: Structure, relaxed, parts: tuple[str, ...], interface: str) -> list[Job]:
        """The interface's static run (from the relaxation's structure and folder), and each side alone."""
        maker = static_charge_maker(structure, self.incar_overrides)
        if relaxed is None:
            jobs = [maker.make(structure)]
        else:
            jobs = [maker.make(relaxed.structure, prev_dir=relaxed.dir_name)]
        for side in parts[1:]:
            jobs.append(
                maker.make(Structure.from_sites([s for s in structure if s.properties[REGION] == side]))
            )
        return jobs

    def analysis_job(self, structure: Structure, relaxed, statics: list[Job], meta: dict) -> Job:
        """Bader (ACF.dat or baderkit) and the potential from LOCPOT."""
        settings = {
            "bader": BaderSettings().model_dump(),
            "period": self.period,
            "incar_overrides": self.incar_overrides,
        }
        static = statics[0].output
        return vasp_interface_charge_transfer(
            static.dir_name,
            [s.output.dir_name for s in statics[1:]],
            structure,
            static.output.energy,
            meta,
            settings,
            static.state,
        )


def selective_dynamics_bottom(structure: Structure, fraction: float) -> Structure:
    """Copy with ``selective_dynamics``: AP atoms in the bottom ``fraction`` of the slab fixed."""
    z = structure.cart_coords[:, 2]
    regions = structure.site_properties[REGION]
    ap = np.array([r == "AP" for r in regions])
    cut = z[ap].min() + fraction * np.ptp(z[ap])
    flags = [[bool(zi > cut + 1e-6)] * 3 for zi in z]
    return structure.copy(site_properties={"selective_dynamics": flags})


@job
def idpp_images(initial: Structure, final: Structure, n_images: int) -> list[Structure]:
    """IDPP images between two relaxed end points (ASE), end points included."""
    return interpolate_idpp(initial, final, n_images)


@job
def warm_start_images(
    initial: Structure,
    final: Structure,
    n_images: int,
    cheap: str = "CHGNet",
    end_energies: list[float] | None = None,
    end_forces: list | None = None,
) -> list[Structure]:
    """The CI-NEB band converged on the machine-learned potential between the VASP-relaxed end
    points: VASP's images start from it instead of from IDPP (``warm_start``).

    Given VASP's energies and forces at the two end points (their relaxations' last ionic
    step), the band is converged on the cheap surface corrected by those two differences
    (:func:`ionflow.workflows.warm_start.end_corrected_band`, the embedded warm start's
    first step): the band feels where the two engines disagree at the end points, for no VASP
    call beyond the relaxations'.
    """

    settings = NebSettings()
    images = interpolate_idpp(initial, final, n_images)
    if end_energies is None or end_forces is None:
        return climb_band(images, cheap, settings.fmax, settings.steps).images
    base = counted_calculator(cheap)
    ends = tuple(
        measurement_at(AseAtomsAdaptor.get_atoms(s), e, f, base)
        for s, e, f in zip((initial, final), end_energies, end_forces, strict=True)
    )
    return end_corrected_band(images, base, ends, settings.fmax, settings.steps).images


@job
def vasp_migration_barrier(neb_output, hop: dict, relax_outputs: list, settings: dict) -> MigrationBarrierDoc:
    """The barrier from the NEB run's image folders (00 ... NN OUTCARs, read by
    :func:`ionflow.analysis.neb.read_vasp_neb`); the end points' energies come from their
    relaxations when VASP left 00/ and NN/ without an OUTCAR."""

    folder = run_folder(neb_output.dir_name)
    ends = tuple(float(o.output.energy) for o in relax_outputs)
    return barrier_from_vasp_neb(
        folder,
        hop,
        ends,
        added_cost=task_cost(relax_outputs),
        engine="vasp",
        settings=settings,
        provenance=Provenance(job_uuid=current_job_uuid(), source_files=[str(folder)]),
    )


def end_points_from_tasks(relax_outputs: list) -> dict:
    """Two finished atomate2 relaxations as the rounds take end points: structures, energies
    and forces of their last ionic step, whether both converged, and their cost."""
    calls, seconds = task_cost(relax_outputs)
    return {
        "initial": relax_outputs[0].output.structure,
        "final": relax_outputs[1].output.structure,
        "energies": [float(o.output.energy) for o in relax_outputs],
        "forces": [np.asarray(o.output.forces, dtype=float) for o in relax_outputs],
        "converged": all(str(getattr(o.state, "value", o.state)) == "successful" for o in relax_outputs),
        "force_calls": calls,
        "wall_time_s": seconds,
    }


@job(data="band")
def vasp_corrected_rounds(
    relax_outputs: list, hop: dict, n_images: int, fmax: float, engine_kwargs: dict, settings: dict
) -> MigrationBarrierDoc:
    """The warm start finished by Δ-corrected rounds of VASP single points, all in this one
    batch job (:func:`ionflow.workflows.rounds.corrected_rounds`)."""
    return corrected_rounds(
        end_points_from_tasks(relax_outputs), hop, VASP_MODEL, engine_kwargs, n_images, fmax, "vasp", settings
    )


def neb_fmax(incar: dict) -> float:
    """The CI-NEB's force criterion (eV/Å) of an INCAR: -EDIFFG (a positive EDIFFG is an energy
    criterion, which the rounds do not use: the preset's fmax then)."""
    ediffg = float(incar.get("EDIFFG", 0.0))
    return -ediffg if ediffg < 0 else NebSettings().fmax


@dataclass
class VaspMigrationBarrierMaker(BaseMigrationBarrierMaker):
    """Relax both end points -> IDPP images (or the warm start) -> CI-NEB (all images in one
    VASP run) -> barrier."""

    name: str = "migration barrier (VASP)"
    n_images: int = VASP.n_images
    incar_overrides: dict = field(default_factory=dict)
    warm_start: bool = False
    """Warm-start the band from CHGNet's, corrected by VASP's energies and forces at the relaxed
    end points, instead of IDPP: fewer VASP force calls (see ``benchmarks/warm_start_neb.py``).
    Finished by ``corrected_rounds``, or by VASP's own CI-NEB."""
    corrected_rounds: bool = True
    """With ``warm_start``: finish the band by the Δ-corrected rounds of VASP single points in
    one batch job, stopping on VASP's CI-NEB force below -EDIFFG (the method the embedded
    engine and GPAW run, :mod:`ionflow.workflows.rounds`); off: VASP's CI-NEB (IMAGES, LCLIMB)
    climbs from the warm band."""

    def end_point_jobs(self, hop: HopPath) -> tuple[list[Job], list[Job]]:
        """atomate2's fixed-cell relaxation of each end point."""
        relaxes = [relax_maker(s, self.incar_overrides).make(s) for s in (hop.initial, hop.final)]
        for r, end in zip(relaxes, ("initial", "final"), strict=True):
            r.name = f"relax {end} {hop.hop_id}"
        return relaxes, relaxes

    def band_jobs(self, hop: HopPath, end_points: list[Job]) -> tuple[list[Job], MigrationBarrierDoc]:
        """The band's start, VASP's CI-NEB and the barrier read from its OUTCARs."""
        if self.warm_start and self.corrected_rounds:
            return self._rounds_jobs(hop, end_points)
        ends = (end_points[0].output.structure, end_points[1].output.structure)
        if self.warm_start:
            images = warm_start_images(
                *ends,
                self.n_images,
                end_energies=[r.output.output.energy for r in end_points],
                end_forces=[r.output.output.forces for r in end_points],
            )
            images.name = f"warm start {hop.hop_id}"
        else:
            images = idpp_images(*ends, self.n_images)
        neb = neb_maker(hop.initial, self.n_images, self.incar_overrides).make(images.output)
        neb.name = f"CI-NEB {hop.hop_id}"
        settings = {
            "n_images": self.n_images,
            "start": "warm:CHGNet, corrected at VASP's end points" if self.warm_start else "idpp",
            "incar": incar_settings("neb", hop.initial, self.incar_overrides),
        }
        post = vasp_migration_barrier(neb.output, hop.as_dict(), [r.output for r in end_points], settings)
        post.name = f"barrier {hop.hop_id}"
        return [images, neb, post], post.output

    def _rounds_jobs(self, hop: HopPath, end_points: list[Job]) -> tuple[list[Job], MigrationBarrierDoc]:
        """One job: the warm band and the corrected rounds on VASP single points."""
        slab = is_slab(hop.initial)
        fmax = neb_fmax(incar_settings("neb", hop.initial, self.incar_overrides))
        engine_kwargs = {"incar_overrides": self.incar_overrides, "kspacing": VASP.kspacing, "slab": slab}
        settings = {
            "n_images": self.n_images,
            "fmax": fmax,
            "start": "warm:CHGNet, Δ-corrected rounds of VASP single points",
            "incar": single_point_incar(slab, self.incar_overrides),
        }
        rounds = vasp_corrected_rounds(
            [r.output for r in end_points], hop.as_dict(), self.n_images, fmax, engine_kwargs, settings
        )
        rounds.name = f"warm CI-NEB {hop.hop_id}"
        return [rounds], rounds.output
