"""GPAW, the DFT that runs on this machine (LCAO or plane waves, PAW setups from ``gpaw-data``).

Two uses: a static SCF on a fixed structure that writes the all-electron charge density and
the electrostatic potential as Gaussian cube files, for Bader and for the planar-averaged
potential (measured against CP2K on the same interface, docs/engines.md); and the NEB engine of
``--engine gpaw`` (:func:`neb_calculator`: forces of end points and images).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.io import write
from ase.units import Bohr
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.errors import InputError
from ionflow.workflows.settings import DftSettings, GpawSettings, NebDftSettings

DENSITY_CUBE = "density.cube"
POTENTIAL_CUBE = "potential.cube"


def _require_gpaw():
    try:
        import gpaw
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise InputError(
            "engine embedded",
            f"GPAW is not importable ({exc})",
            "install it with `bash .ci/install` (builds GPAW against libxc/BLAS without MPI)",
        ) from exc
    return gpaw


def monkhorst_pack(atoms: Atoms, kspacing: float, periodic_axes: tuple[bool, bool, bool]) -> tuple:
    """k-point mesh with at most ``kspacing`` (1/Å, 2π included) between points; 1 along vacuum axes."""
    recip = np.linalg.norm(atoms.cell.reciprocal(), axis=1) * 2 * math.pi
    return tuple(
        max(1, math.ceil(r / kspacing)) if p else 1 for r, p in zip(recip, periodic_axes, strict=True)
    )


def gpaw_parameters(settings: GpawSettings) -> dict[str, Any]:
    """GPAW's keyword arguments for the settings' mode, basis or cutoff, functional, grid,
    smearing and SCF tolerance (k-points and output are the caller's)."""
    params: dict[str, Any] = {
        "mode": {"name": "pw", "ecut": settings.ecut} if settings.mode == "pw" else "lcao",
        "xc": settings.xc,
        "h": settings.h,
        "occupations": {"name": "fermi-dirac", "width": settings.smearing},
        "convergence": {"energy": settings.energy_tolerance},
    }
    if settings.mode == "lcao":
        params["basis"] = settings.basis
    return params


def gpaw_calculator(atoms: Atoms, settings: DftSettings, txt: Path, slab: bool = False):
    """A GPAW calculator for ``atoms`` from the ``dft`` section of the embedded preset.

    Slabs (``slab``) are non-periodic along c with a dipole layer in the vacuum,
    so the two sides of the slab see no artificial field from the periodic images.
    """
    gpaw = _require_gpaw()
    pbc = (True, True, not slab)
    atoms.pbc = pbc
    params = gpaw_parameters(settings)
    params.update(kpts=monkhorst_pack(atoms, settings.kspacing, pbc), txt=str(txt))
    if slab and settings.dipole_correction:
        params["poissonsolver"] = {"dipolelayer": "xy"}
    return gpaw.GPAW(**params)


class NebGpaw(Calculator):
    """GPAW for one NEB image or end point, made on its first calculation.

    ASE's NEB (through atomate2) deep-copies one calculator per image; a GPAW calculator holds
    an open log and cannot be copied, so this holds the settings and each copy makes its own
    GPAW, which then keeps that image's wave functions from one step to the next."""

    implemented_properties = ("energy", "free_energy", "forces")  # positions only, at fixed cell

    def __init__(self, settings: NebDftSettings) -> None:
        super().__init__()
        self.settings = settings
        self._gpaw = None

    def __deepcopy__(self, memo: dict) -> NebGpaw:
        twin = copy.copy(self)  # the same class (a counted one too) and the same call counter
        twin.__dict__.update(_gpaw=None, atoms=None, results={}, parameters=copy.deepcopy(self.parameters))
        return twin

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if self._gpaw is None:
            self._gpaw = _require_gpaw().GPAW(
                **gpaw_parameters(self.settings),
                kpts={"density": 1 / self.settings.kspacing, "gamma": True},
                symmetry={"point_group": False},  # atoms move off symmetric positions (time reversal kept)
                txt=None,
            )
        probe = self.atoms.copy()
        probe.calc = self._gpaw
        energy = probe.get_potential_energy()
        self.results = {"energy": energy, "free_energy": energy, "forces": probe.get_forces()}


def neb_calculator(settings: dict[str, Any] | None = None) -> NebGpaw:
    """GPAW as the NEB engine, its k-point mesh from ``kspacing`` on each image's own cell
    (Γ-centred), no text output; ``settings``: a :class:`NebDftSettings` as a dict (the
    preset's ``neb_dft`` when None)."""
    return NebGpaw(NebDftSettings(**(settings or {})))


def check_neb_cell(structure: Structure, settings: NebDftSettings, source: str) -> None:
    """Stops with one line, before any job runs, when GPAW cannot treat ``structure`` with
    ``settings``: an element without a PAW setup (or LCAO basis) in the installed data, or a
    cell so small that ``kspacing`` asks more than ``max_kpoints`` k-points."""
    gpaw = _require_gpaw()
    missing = []
    for element in sorted({site.specie.symbol for site in structure}):
        wanted = [f"{element}.{settings.xc}.gz"]
        if settings.mode == "lcao":
            wanted.append(f"{element}.{settings.basis}.basis.gz")
        if not all(any((Path(d) / name).exists() for d in gpaw.setup_paths) for name in wanted):
            missing.append(element)
    if missing:
        data = f"GPAW {settings.xc} setup" + (f" or {settings.basis} basis" * (settings.mode == "lcao"))
        raise InputError(
            f"{source}: {', '.join(missing)}",
            f"has no {data} in the installed data ({', '.join(map(str, gpaw.setup_paths))})",
            "install setups for it (gpaw install-data) or run this host on --engine embedded or vasp",
        )
    atoms = AseAtomsAdaptor.get_atoms(structure)
    mesh = monkhorst_pack(atoms, settings.kspacing, (True, True, True))
    if math.prod(mesh) > settings.max_kpoints:
        shortest = min(atoms.cell.lengths())
        per_axis = max(1, int(settings.max_kpoints ** (1 / 3) + 1e-9))  # k-points along each edge
        wanted_length = 2 * math.pi / (settings.kspacing * per_axis)
        raise InputError(
            f"{source}: cell",
            f"is too small for GPAW's k-point settings: kspacing {settings.kspacing} 1/Å asks a "
            f"{'x'.join(map(str, mesh))} mesh, more than max_kpoints {settings.max_kpoints} "
            f"(shortest edge {shortest:.1f} Å)",
            f"use a supercell with every edge at least {wanted_length:.1f} Å (--min-length), or "
            "a coarser mesh (--dft kspacing=...,max_kpoints=...)",
        )


def run_static_density(
    structure: Structure, settings: DftSettings, directory: Path, slab: bool = False, density: bool = True
) -> dict[str, Any]:
    """Static SCF; writes ``potential.cube`` (eV) and, with ``density``, ``density.cube``
    (all-electron, e/Bohr³, on the grid refined ``density_refinement`` times: about a minute
    for a 60-atom slab on one core; the reference parts, whose potential alone is read, skip it).

    Returns
    -------
    dict
        ``energy`` (eV), ``n_electrons`` (all-electron count, ΣZ), ``valence`` (valence
        electrons per atom of the PAW setups), ``kpts``, ``wall_time_s``, ``files``.
    """
    start = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.constraints = []
    calc = gpaw_calculator(atoms, settings, directory / "gpaw.txt", slab)
    atoms.calc = calc
    energy = float(atoms.get_potential_energy())
    files = {}
    if density:
        rho = calc.get_all_electron_density(gridrefinement=settings.density_refinement)
        write(
            directory / DENSITY_CUBE,
            atoms,
            data=rho * Bohr**3,
            comment="all-electron density (e/Bohr^3), GPAW",
        )
        files["density"] = str((directory / DENSITY_CUBE).resolve())
    write(
        directory / POTENTIAL_CUBE,
        atoms,
        data=calc.get_electrostatic_potential(),
        comment="electrostatic potential (eV), GPAW",
    )
    files["potential"] = str((directory / POTENTIAL_CUBE).resolve())
    setups = calc.setups if hasattr(calc, "setups") else calc.dft.setups
    return {
        "energy": energy,
        "n_electrons": float(sum(atoms.numbers)),
        "valence": [float(s.Nv) for s in setups],
        "kpts": list(calc.parameters.get("kpts", [])) if isinstance(calc.parameters, dict) else None,
        "wall_time_s": time.perf_counter() - start,
        "files": files,
    }
