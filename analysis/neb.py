"""VASP NEB directories: ``00`` ... ``NN`` image folders with their OUTCARs -> energies along the band.

VASP runs only the interior images; the end points' energies come from an ``OUTCAR`` copied
into ``00/`` and ``NN/`` (the usual practice, what VTST's scripts read) or are given by the
caller (the end-point relaxations' energies). Energies are pymatgen's ``Outcar.final_energy``:
the energy(sigma->0) of the last ionic step, the number VTST's ``nebbarrier.pl`` and
pymatgen's ``NEBAnalysis`` take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pymatgen.core import Structure
from pymatgen.io.vasp import Incar
from pymatgen.io.vasp.outputs import Outcar

from ionflow.analysis.schemas import MigrationBarrierDoc, Provenance
from ionflow.analysis.vasp_files import (
    check_same_atoms,
    cost_from_outcar_text,
    find_vasp_file,
    parsed,
    read_text,
)
from ionflow.inputs.errors import InputError

IMAGE_DIR = re.compile(r"^\d{2}$")
FINISHED = "General timing and accounting"
CONVERGED = "reached required accuracy"


@dataclass
class NebImages:
    """What a VASP NEB directory holds, image by image (end points included)."""

    directory: Path
    energies: list[float]
    finished: list[bool]
    relaxed: list[bool]
    files: list[str]
    force_calls: int = 0
    """Ionic steps of the interior images (one force call each): what the NEB run cost."""
    wall_time_s: float = 0.0
    """VASP's elapsed time of the NEB run (its images run side by side: the longest one)."""

    @property
    def converged(self) -> bool:
        """Every interior image finished and reached the force criterion (EDIFFG)."""
        return all(self.finished[1:-1]) and all(self.relaxed[1:-1])


def read_outcar_energy(path: Path, text: str | None = None) -> tuple[float, bool, bool]:
    """Final energy (eV), whether the run finished, whether it reached EDIFFG; a clear error
    when the OUTCAR holds no energy (crashed or truncated before the first ionic step).
    ``text``: the file's text, where the caller has read it already."""
    text = read_text(path) if text is None else text
    if "energy(sigma->0)" not in text:
        raise InputError(
            str(path),
            "holds no energy (the run crashed or the file is truncated before the first ionic step)",
            "rerun this image, or restore the OUTCAR",
        )
    outcar = parsed(path, Outcar, "an OUTCAR", "rerun this image, or restore the OUTCAR")
    if outcar.final_energy is None:
        raise InputError(str(path), "holds no final energy", "rerun this image, or restore the OUTCAR")
    return float(outcar.final_energy), FINISHED in text, CONVERGED in text


def read_vasp_neb(directory: str | Path, end_energies: tuple[float, float] | None = None) -> NebImages:
    """Energies along a VASP NEB band from its image folders.

    Parameters
    ----------
    directory
        The NEB run folder, holding ``00`` ... ``NN``.
    end_energies
        Energies (eV) of the initial and final end points, used where ``00/`` or ``NN/`` has
        no OUTCAR.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "is not a folder", "give the NEB run folder (holding 00, 01, ...)")
    found = sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and IMAGE_DIR.match(p.name))
    if len(found) < 3:
        raise InputError(
            str(directory),
            f"has {len(found)} image folders (00, 01, ...)",
            "give a NEB folder with 00 ... NN",
        )
    missing = sorted(set(range(found[-1] + 1)) - set(found))
    if missing:
        raise InputError(
            str(directory / f"{missing[0]:02d}"),
            "image folder is missing",
            "restore it (a band needs every image 00 ... NN)",
        )
    check_image_count(directory, len(found) - 2)
    energies, finished, relaxed, files = [], [], [], []
    force_calls, wall_time = 0, 0.0
    last = found[-1]
    for index in found:
        folder = directory / f"{index:02d}"
        outcar = find_vasp_file(folder, "OUTCAR")
        if outcar is None and index in (0, last) and end_energies is not None:
            energies.append(float(end_energies[0 if index == 0 else 1]))
            finished.append(True)
            relaxed.append(True)
            continue
        if outcar is None:
            fix = (
                "copy the end point's relaxation OUTCAR there, or pass its energy"
                if index in (0, last)
                else "rerun the NEB (this image never wrote an OUTCAR)"
            )
            raise InputError(str(folder / "OUTCAR"), "is missing", fix)
        text = read_text(outcar)
        energy, done, reached = read_outcar_energy(outcar, text)
        energies.append(energy)
        finished.append(done)
        relaxed.append(reached or index in (0, last))
        files.append(str(outcar))
        if index not in (0, last):
            cost = cost_from_outcar_text(text)
            force_calls += cost.ionic_steps
            wall_time = max(wall_time, cost.elapsed_s or 0.0)
    return NebImages(directory, energies, finished, relaxed, files, force_calls, wall_time)


def check_image_count(directory: Path, interior: int) -> None:
    """The run's INCAR (where kept) asked for as many images as there are interior folders."""
    incar = find_vasp_file(directory, "INCAR")
    if incar is None:
        return
    tags = parsed(incar, lambda name: Incar.from_str(read_text(name)), "an INCAR", "recopy the run's INCAR")
    images = tags.get("IMAGES")
    if images is not None and int(images) != interior:
        raise InputError(
            str(incar),
            f"says IMAGES = {images} but the folder holds {interior} interior images",
            "give the whole NEB folder (00 ... NN) of the run that INCAR belongs to",
        )


def hop_length_from_poscars(directory: str | Path) -> float | None:
    """Largest displacement (Å, minimum image) of any atom between ``00/POSCAR`` and ``NN/POSCAR``;
    every image's POSCAR (and CONTCAR, where written) must hold the same atoms in the same order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "is not a folder", "give the NEB run folder (holding 00, 01, ...)")
    folders = sorted(p for p in directory.iterdir() if p.is_dir() and IMAGE_DIR.match(p.name))
    ends = [f / "POSCAR" for f in (folders[0], folders[-1])] if folders else []
    if len(ends) < 2 or not all(p.is_file() for p in ends):
        return None
    fix = "recopy the image's POSCAR/CONTCAR from the run folder"

    def poscar(path: Path) -> Structure:
        return parsed(path, lambda n: Structure.from_str(read_text(n), fmt="poscar"), f"a {path.name}", fix)

    first, last = poscar(ends[0]), poscar(ends[1])
    same = "NEB end points need the same atoms in the same order (rebuild the hop)"
    check_same_atoms(first, last, ends[0], ends[1], same)
    for folder in folders[1:-1]:
        for name in ("POSCAR", "CONTCAR"):
            path = find_vasp_file(folder, name)
            if path is not None:
                check_same_atoms(first, poscar(path), ends[0], path, same)
    return float(max(first[i].distance(last[i]) for i in range(len(first))))


def barrier_from_vasp_neb(
    directory: str | Path, hop: dict, end_energies=None, added_cost: tuple[int, float] = (0, 0.0), **fields
):
    """A :class:`MigrationBarrierDoc` from a VASP NEB folder; ``hop`` holds ``host``, ``species``,
    ``hop_id``, ``location``, ``length`` and ``fingerprint`` (``HopPath.as_dict()`` does).

    Force calls and wall time are the NEB run's (from its OUTCARs) plus ``added_cost``
    (force calls, seconds: the end-point relaxations, when the caller knows them)."""

    band = read_vasp_neb(directory, end_energies)
    fields.setdefault("provenance", Provenance(source_files=band.files))
    fields.setdefault("engine", "vasp")
    fields.setdefault("force_calls", band.force_calls + added_cost[0])
    fields.setdefault("wall_time_s", band.wall_time_s + added_cost[1])
    return MigrationBarrierDoc.from_hop(band.energies, hop, converged=band.converged, **fields)
