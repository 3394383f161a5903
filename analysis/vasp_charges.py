"""A finished VASP static charge run of an AP/carbon interface -> its charge-transfer document.

The run folder holds CHGCAR (and AECCAR0/AECCAR2, or the Henkelman program's ACF.dat), LOCPOT
(LVHAR = .TRUE.), OUTCAR and POTCAR or OUTCAR for the valence electrons; reference runs of the
separated AP slab and carbon sheet in the same cell give the difference potential. The VASP
flow's last job and ``ionflow parse charges`` both read runs here.
"""

from __future__ import annotations

from pathlib import Path

from pymatgen.core import Structure

from ionflow.analysis.bader import bader_from_vasp
from ionflow.analysis.neb import read_outcar_energy
from ionflow.analysis.potential import potential_summary, read_locpot
from ionflow.analysis.schemas import InterfaceChargeTransferDoc, Provenance
from ionflow.analysis.vasp_files import check_same_atoms, runs_cost, vasp_output_file
from ionflow.analysis.vasp_static import vasp_bader_doc
from ionflow.inputs.errors import InputError

CARBON = "carbon"
AP = "AP"


def regions_by_element(structure: Structure, source: str) -> list[str]:
    """Region labels of an AP/carbon interface read from a VASP run, which keeps no labels:
    carbon atoms are the carbon side, all others the anti-perovskite (AP holds no carbon)."""
    regions = [CARBON if site.specie.symbol == "C" else AP for site in structure]
    if CARBON not in regions or AP not in regions:
        raise InputError(source, "holds no AP/carbon interface (carbon and other atoms)", "give --interface")
    return regions


def charge_transfer_from_vasp(
    directory: str | Path,
    reference_dirs: list[str | Path],
    meta: dict,
    settings: dict,
    structure: Structure | None = None,
    energy: float | None = None,
    converged: bool | None = None,
    job_uuid: str | None = None,
) -> InterfaceChargeTransferDoc:
    """Bader charges (ACF.dat where the Henkelman program ran, else baderkit on CHGCAR in
    AECCAR0+2 basins), region charges and the potential across the interface of a VASP run.

    Parameters
    ----------
    directory
        The interface's static run folder.
    reference_dirs
        Static runs of the separated AP slab and carbon in the same cell (may be empty).
    meta
        ``name``, ``termination`` and ``fingerprint`` of the interface.
    settings
        ``bader`` (method, vacuum_tol) and ``period`` (Å, window of the macroscopic average).
    structure
        The interface with its ``region`` labels, in VASP's atom order; default: the run's own
        atoms, labelled by element (:func:`regions_by_element`).
    energy, converged
        The run's energy and state where the caller knows them (an atomate2 task document);
        default: read from its OUTCAR.

    Force calls and wall time are those of the static run and its reference runs, read from
    their OUTCARs. Every file is read before anything is returned: a damaged or mismatched one
    is an InputError naming it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "is not a folder", "give the VASP static run folder")
    vasp_structure, partition = bader_from_vasp(directory, **settings["bader"])
    if structure is None:
        structure = vasp_structure
        regions = regions_by_element(structure, str(directory))
    else:
        regions = list(structure.site_properties["region"])
        check_same_atoms(vasp_structure, structure, directory, "the interface", "rerun the flow")
    bader = vasp_bader_doc(directory, structure, partition, regions)
    fix = "run VASP with LVHAR = .TRUE. (the ionflow preset sets it)"
    folders = [directory, *(Path(d) for d in reference_dirs)]
    grids = [read_locpot(vasp_output_file(folder, "LOCPOT", fix)) for folder in folders]
    if len(grids[0].structure) != len(structure):
        raise InputError(
            grids[0].source,
            f"holds {len(grids[0].structure)} atoms, the CHGCAR {len(structure)}",
            "use the LOCPOT of the same run",
        )
    summary = potential_summary(grids[0], regions, settings["period"], grids[1:])
    force_calls, wall_time = runs_cost(folders)
    if energy is None or converged is None:
        outcar = vasp_output_file(directory, "OUTCAR", "keep the run's OUTCAR")
        read_energy, finished, _ = read_outcar_energy(outcar)
        energy = read_energy if energy is None else energy
        converged = finished if converged is None else converged
    return InterfaceChargeTransferDoc.from_parts(
        structure,
        bader,
        summary,
        meta,
        energy=float(energy),
        converged=bool(converged),
        engine="vasp",
        settings=settings,
        force_calls=force_calls,
        wall_time_s=wall_time,
        provenance=Provenance(job_uuid=job_uuid, source_files=[str(f) for f in folders]),
    )


__all__ = ["charge_transfer_from_vasp", "regions_by_element"]
