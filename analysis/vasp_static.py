"""A finished VASP static run of any material -> its Bader charges and potential profile.

The run folder holds CHGCAR (with AECCAR0/AECCAR2, or the Henkelman program's ACF.dat) for the
Bader charges and POTCAR or OUTCAR for the valence electrons, and/or LOCPOT for the potential
profile along c; a slab with vacuum also gets its vacuum level and, with the OUTCAR's Fermi
level, its work function. ``ionflow parse charges`` reads such a run when it is not an
AP/carbon interface (:mod:`ionflow.analysis.vasp_charges` reads those).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
from pymatgen.analysis.surface_analysis import WorkFunctionAnalyzer
from pymatgen.core import Structure

from ionflow.analysis.bader import BaderPartition, bader_from_vasp
from ionflow.analysis.neb import read_outcar_energy
from ionflow.analysis.potential import PotentialGrid, planar_average, read_locpot
from ionflow.analysis.schemas import BaderChargesDoc, PotentialProfileDoc, Provenance, StaticRunDoc
from ionflow.analysis.vasp_files import (
    check_same_atoms,
    cost_from_outcar_text,
    find_vasp_file,
    read_text,
    valence_electrons,
    why,
)
from ionflow.inputs.checks import structure_fingerprint, vacuum_gap
from ionflow.inputs.errors import InputError

MIN_VACUUM = 6.0
"""Å: a gap between atomic planes along c at least this wide is vacuum (a slab), not bulk."""

FERMI = re.compile(r"E-fermi\s*:\s*(-?\d+\.\d+)")


def fermi_level(text: str) -> float | None:
    """The last Fermi level (eV) an OUTCAR printed; None where it printed none."""
    found = FERMI.findall(text)
    return float(found[-1]) if found else None


def run_elements(directory: str | Path) -> set[str]:
    """Elements of a VASP run, from the header of its CHGCAR, LOCPOT, CONTCAR or POSCAR (the
    first found; only the header is read)."""
    for name in ("CHGCAR", "LOCPOT", "CONTCAR", "POSCAR"):
        path = find_vasp_file(directory, name)
        if path is None:
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rt") as handle:
                header = [handle.readline() for _ in range(7)]
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(
                str(path), f"cannot be read ({why(exc)})", "recopy it from the run folder"
            ) from None
        symbols = header[5].split()
        if not symbols or not all(s.isalpha() for s in symbols):
            raise InputError(str(path), "names no elements in its header (VASP 4 format?)", "recopy it")
        return {s.split("_")[0] for s in symbols}
    return set()


ELECTRON_COUNT_TOLERANCE = 0.01
"""Relative: Bader volumes (vacuum included) hold the valence electrons the POTCAR gives."""


def vasp_bader_doc(
    directory: Path, structure: Structure, partition: BaderPartition, regions: list[str] | None = None
) -> BaderChargesDoc:
    """The Bader document of a VASP run: net charges against the POTCAR's (or OUTCAR's) ZVAL.
    A valence file whose electrons differ from the density's by more than 1 % belongs to
    another run (another PAW set, e.g. Fe against Fe_pv): an InputError naming it."""
    elements = [site.specie.symbol for site in structure]
    zval = valence_electrons(directory, elements)
    valence = [zval[e] for e in elements]
    expected = float(sum(valence))
    if abs(partition.total_electrons - expected) > ELECTRON_COUNT_TOLERANCE * expected:
        source = find_vasp_file(directory, "POTCAR") or find_vasp_file(directory, "OUTCAR")
        raise InputError(
            str(source),
            f"gives {expected:g} valence electrons ({', '.join(f'{e} {zval[e]:g}' for e in sorted(zval))}), "
            f"the density holds {partition.total_electrons:.2f}",
            "use the POTCAR (or OUTCAR) of the run that wrote the CHGCAR",
        )
    return BaderChargesDoc.from_partition(
        structure,
        partition,
        valence,
        regions,
        expected_electrons=expected,
        method=partition.method,
        engine="vasp",
    )


def potential_profile(grid: PotentialGrid, efermi: float | None) -> PotentialProfileDoc:
    """Planar average along c; for a slab (a vacuum gap of :data:`MIN_VACUUM` or more) the
    vacuum level, pymatgen's flatness check of it and the work function."""
    planar = planar_average(grid.values)
    z = np.arange(len(planar)) * grid.structure.lattice.c / len(planar)
    gap, _ = vacuum_gap(grid.structure)
    doc = PotentialProfileDoc(z=z.tolist(), planar=planar.tolist(), vacuum_gap=gap, fermi_level=efermi)
    if gap < MIN_VACUUM:
        return doc
    slab = WorkFunctionAnalyzer(grid.structure, planar.tolist(), efermi if efermi is not None else 0.0)
    doc.vacuum_level = float(slab.vacuum_locpot)
    doc.vacuum_flat = bool(slab.is_converged())
    if efermi is not None:
        doc.work_function = doc.vacuum_level - efermi
    return doc


def static_run_from_vasp(
    directory: str | Path, name: str, bader: dict, job_uuid: str | None = None
) -> StaticRunDoc:
    """Bader charges (where the folder has a CHGCAR or an ACF.dat) and potential profile (where
    it has a LOCPOT) of a VASP static run. ``bader``: method and vacuum_tol. Every file is
    read and checked against the others before anything is returned."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "is not a folder", "give the VASP static run folder")
    has_density = any(find_vasp_file(directory, n) for n in ("CHGCAR", "ACF.dat"))
    locpot_path = find_vasp_file(directory, "LOCPOT")
    if not has_density and locpot_path is None:
        raise InputError(
            str(directory),
            "holds no CHGCAR, ACF.dat or LOCPOT",
            "give a VASP static run folder (LCHARG and LAECHG for Bader, LVHAR for the potential)",
        )
    outcar = find_vasp_file(directory, "OUTCAR")
    text = read_text(outcar, "keep the run's OUTCAR (VASP writes one)") if outcar else ""
    structure, charges = None, None
    if has_density:
        structure, partition = bader_from_vasp(directory, **bader)
        charges = vasp_bader_doc(directory, structure, partition)
    profile = None
    if locpot_path is not None:
        grid = read_locpot(locpot_path)
        if structure is None:
            structure = grid.structure
        else:
            fix = "use the LOCPOT of the same run"
            check_same_atoms(grid.structure, structure, locpot_path, charges.source_files[0], fix, cell=True)
        profile = potential_profile(grid, fermi_level(text))
    energy, converged, force_calls, wall_time = None, None, 0, 0.0
    if outcar is not None:
        energy, converged, _ = read_outcar_energy(outcar, text)
        cost = cost_from_outcar_text(text)
        force_calls, wall_time = cost.ionic_steps, cost.elapsed_s or 0.0
    return StaticRunDoc(
        run=name,
        fingerprint=structure_fingerprint(structure),
        formula=structure.composition.reduced_formula,
        n_atoms=len(structure),
        bader=charges,
        potential=profile,
        energy=energy,
        converged=converged,
        engine="vasp",
        settings={"bader": bader},
        force_calls=force_calls,
        wall_time_s=wall_time,
        provenance=Provenance(job_uuid=job_uuid, source_files=[str(directory)]),
    )


__all__ = [
    "ELECTRON_COUNT_TOLERANCE",
    "fermi_level",
    "potential_profile",
    "run_elements",
    "static_run_from_vasp",
    "vasp_bader_doc",
]
