"""Bader charges: baderkit on a charge density, or the Henkelman program's ``ACF.dat``.

baderkit (PyPI) is a maintained numba reimplementation of the Henkelman group's grid-based
Bader algorithms (``neargrid``, ``weight`` ...); it runs on the embedded engine's density and
on VASP's CHGCAR/AECCAR files alike. Runs done with the ``bader`` program are read from the
``ACF.dat`` it writes.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from ionflow.analysis.vasp_files import (
    check_same_atoms,
    find_vasp_file,
    parsed,
    read_text,
    vasp_output_file,
    volumetric_grid,
)
from ionflow.inputs.errors import InputError


@dataclass
class BaderPartition:
    """Electrons in each atom's Bader volume."""

    electrons: np.ndarray
    vacuum_electrons: float
    total_electrons: float
    method: str
    source: str


def _baderkit():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import baderkit
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise InputError(
            "bader",
            f"baderkit is not importable ({exc})",
            "install it with `pip install --no-deps baderkit` (see docs/engines.md: its pymatgen pin)",
        ) from exc
    finally:  # baderkit's import configures the root logger (INFO, rich handler): undo that
        root.setLevel(level)
        root.handlers[:] = handlers
    return baderkit


@contextlib.contextmanager
def _quiet():
    """baderkit logs every step at INFO on the root logger: keep the user's screen for progress."""
    logging.disable(logging.INFO)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # and prints its refinement passes
            yield
    finally:
        logging.disable(logging.NOTSET)


def bader_partition(
    structure: Structure,
    density: np.ndarray,
    method: str = "neargrid",
    vacuum_tol: float = 1e-3,
    source: str = "",
) -> BaderPartition:
    """Bader partition of ``density`` (electrons/Å³ on a periodic grid over ``structure``'s cell).

    Parameters
    ----------
    structure
        The atoms the density belongs to.
    density
        Charge density in e/Å³, shape (na, nb, nc) along the lattice vectors.
    method
        A baderkit method (``neargrid``, ``weight``, ``neargrid-weight`` ...).
    vacuum_tol
        Grid points below this density (e/Å³) count as vacuum, assigned to no atom.
    """
    baderkit = _baderkit()
    from baderkit.toolkit.structure import Structure as BaderkitStructure

    if density.ndim != 3:
        raise InputError(source or "density", f"is {density.ndim}-dimensional", "give a 3D grid")
    bk_structure = BaderkitStructure(structure.lattice, structure.species, structure.frac_coords)
    volume = structure.lattice.volume
    # baderkit stores grids as VASP does: density times cell volume
    grid = baderkit.Grid(structure=bk_structure, data={"total": density * volume}, data_type="charge")
    bader = baderkit.Bader(charge_grid=grid, method=method, vacuum_tol=vacuum_tol)
    with _quiet():
        electrons = np.asarray(bader.atom_charges, dtype=float)
        vacuum = float(bader.vacuum_charge)
    return BaderPartition(electrons, vacuum, float(electrons.sum() + vacuum), method, source)


def bader_from_cube(path: str | Path, method: str = "neargrid", vacuum_tol: float = 1e-3):
    """Bader partition of a density cube in e/Bohr³ (the embedded engine's ``density.cube``)."""
    from ase.io.cube import read_cube_data
    from ase.units import Bohr
    from pymatgen.io.ase import AseAtomsAdaptor

    data, atoms = parsed(path, read_cube_data, "a density cube file", "rerun the static job")
    atoms.pbc = True
    structure = AseAtomsAdaptor.get_structure(atoms)
    return structure, bader_partition(structure, data / Bohr**3, method, vacuum_tol, str(path))


def bader_from_vasp(
    directory: str | Path, method: str = "neargrid", vacuum_tol: float = 1e-3
) -> tuple[Structure, BaderPartition]:
    """Bader partition of a VASP static run: CHGCAR charges in AECCAR0+AECCAR2 basins when present
    (plain or gzipped files).

    As the Henkelman program does with ``-ref``, the all-electron reference (AECCAR0+AECCAR2)
    places the basin boundaries and the valence CHGCAR is integrated in them. Where the
    Henkelman program already ran in the folder (``ACF.dat``, as atomate2 leaves it when
    ``bader`` is on the cluster's PATH), its charges are taken instead.
    """
    from pymatgen.io.vasp import Chgcar

    if find_vasp_file(directory, "ACF.dat") is not None:
        return bader_from_acf(directory)

    fix = "recopy the file from the run folder, or rerun the static job"
    chgcar = vasp_output_file(
        directory, "CHGCAR", "run VASP with LCHARG = .TRUE. (the ionflow static job does)"
    )
    n_atoms, grid = volumetric_grid(chgcar, "a CHGCAR")
    valence = parsed(chgcar, Chgcar.from_file, "a CHGCAR", fix)
    aeccars = [find_vasp_file(directory, name) for name in ("AECCAR0", "AECCAR2")]
    reference = None
    one_run = "use the CHGCAR and AECCARs of one run (LAECHG = .TRUE.)"
    if all(aeccars):
        ae = []
        for path in aeccars:
            found = volumetric_grid(path, "an AECCAR")
            if found != (n_atoms, grid):
                raise InputError(
                    str(path),
                    f"has {found[0]} atoms on a {found[1]} grid, {chgcar.name} {n_atoms} on {grid}",
                    one_run,
                )
            ae.append(parsed(path, Chgcar.from_file, "an AECCAR", fix))
            check_same_atoms(ae[-1].structure, valence.structure, path, chgcar, one_run, cell=True)
        reference = ae[0].data["total"] + ae[1].data["total"]
    baderkit = _baderkit()
    from baderkit.toolkit.structure import Structure as BaderkitStructure

    s = valence.structure
    bk_structure = BaderkitStructure(s.lattice, s.species, s.frac_coords)
    grid = baderkit.Grid(structure=bk_structure, data={"total": valence.data["total"]}, data_type="charge")
    kwargs = {}
    if reference is not None:
        kwargs["reference_grid"] = baderkit.Grid(
            structure=bk_structure, data={"total": reference}, data_type="charge"
        )
    bader = baderkit.Bader(charge_grid=grid, method=method, vacuum_tol=vacuum_tol, **kwargs)
    with _quiet():
        electrons = np.asarray(bader.atom_charges, dtype=float)
        vacuum = float(bader.vacuum_charge)
    basins = "CHGCAR in AECCAR0+AECCAR2 basins" if reference is not None else "CHGCAR basins"
    used = f"baderkit {method}, {basins}"
    return s, BaderPartition(electrons, vacuum, float(electrons.sum() + vacuum), used, str(chgcar))


@dataclass
class AcfTable:
    """The Henkelman program's ``ACF.dat``: per-atom electrons and Bader volumes."""

    positions: np.ndarray
    electrons: np.ndarray
    min_distance: np.ndarray
    volumes: np.ndarray
    vacuum_electrons: float
    vacuum_volume: float
    total_electrons: float


def read_acf(path: str | Path, n_atoms: int | None = None) -> AcfTable:
    """Parse ``ACF.dat``; a truncated file (no totals block, or fewer rows than atoms) is an error."""

    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such ACF.dat", "run `bader CHGCAR -ref CHGCAR_sum` in the run folder")
    rows: list[list[float]] = []
    totals: dict[str, float] = {}
    for line in read_text(path).splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", "-")):
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            with contextlib.suppress(ValueError, IndexError):
                totals[key.strip().upper()] = float(value.split()[0])
            continue
        try:
            rows.append([float(x) for x in parts[1:7]])
        except ValueError:
            raise InputError(str(path), f"unreadable line {line.strip()!r}", "rerun bader") from None
    if "NUMBER OF ELECTRONS" not in totals:
        raise InputError(str(path), "has no 'NUMBER OF ELECTRONS' line (truncated?)", "rerun bader")
    if not rows or any(len(r) < 6 for r in rows):
        raise InputError(str(path), "has no complete atom rows", "rerun bader")
    if n_atoms is not None and len(rows) != n_atoms:
        raise InputError(
            str(path), f"lists {len(rows)} atoms, the structure has {n_atoms}", "use the matching run"
        )
    table = np.array(rows)
    return AcfTable(
        positions=table[:, 0:3],
        electrons=table[:, 3],
        min_distance=table[:, 4],
        volumes=table[:, 5],
        vacuum_electrons=totals.get("VACUUM CHARGE", 0.0),
        vacuum_volume=totals.get("VACUUM VOLUME", 0.0),
        total_electrons=totals["NUMBER OF ELECTRONS"],
    )


def bader_from_acf(directory: str | Path) -> tuple[Structure, BaderPartition]:
    """The Henkelman program's charges (``ACF.dat``) for the run in ``directory``; the atoms
    come from its CONTCAR, POSCAR or CHGCAR (the first one present)."""

    acf = vasp_output_file(directory, "ACF.dat", "run `bader CHGCAR -ref CHGCAR_sum` in the run folder")
    source = next(
        (f for f in (find_vasp_file(directory, n) for n in ("CONTCAR", "POSCAR", "CHGCAR")) if f), None
    )
    if source is None:
        raise InputError(
            str(directory), "has ACF.dat but no CONTCAR, POSCAR or CHGCAR", "keep the run's CONTCAR"
        )
    structure = parsed(source, Structure.from_file, "a structure", "recopy it from the run folder")
    table = read_acf(acf, n_atoms=len(structure))
    partition = BaderPartition(
        table.electrons, table.vacuum_electrons, table.total_electrons, "Henkelman bader program", str(acf)
    )
    return structure, partition
