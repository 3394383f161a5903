"""The embedded engine's DFT: GPAW (LCAO, PBE, PAW setups from the ``gpaw-data`` wheel).

One job needs it: a static SCF on a fixed structure that writes the all-electron charge
density and the electrostatic potential as Gaussian cube files, for Bader and for the
planar-averaged potential. GPAW was measured against CP2K on the same interface (docs/engines.md).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import write
from ase.units import Bohr
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.errors import InputError
from ionflow.workflows.settings import DftSettings

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


def gpaw_calculator(atoms: Atoms, settings: DftSettings, txt: Path, slab: bool = False):
    """A GPAW calculator for ``atoms`` from the ``dft`` section of the embedded preset.

    Slabs (``slab``) are non-periodic along c with a dipole layer in the vacuum,
    so the two sides of the slab see no artificial field from the periodic images.
    """
    gpaw = _require_gpaw()
    pbc = (True, True, not slab)
    atoms.pbc = pbc
    params: dict[str, Any] = {
        "mode": settings.mode,
        "xc": settings.xc,
        "h": settings.h,
        "kpts": monkhorst_pack(atoms, settings.kspacing, pbc),
        "occupations": {"name": "fermi-dirac", "width": settings.smearing},
        "convergence": {"energy": settings.energy_tolerance},
        "txt": str(txt),
    }
    if settings.mode == "lcao":
        params["basis"] = settings.basis
    if slab and settings.dipole_correction:
        params["poissonsolver"] = {"dipolelayer": "xy"}
    return gpaw.GPAW(**params)


def run_static_density(
    structure: Structure, settings: DftSettings, directory: Path, slab: bool = False
) -> dict[str, Any]:
    """Static SCF; writes ``density.cube`` (all-electron, e/Bohr³) and ``potential.cube`` (eV).

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
    rho = calc.get_all_electron_density(gridrefinement=settings.density_refinement)
    potential = calc.get_electrostatic_potential()
    density_path = directory / DENSITY_CUBE
    potential_path = directory / POTENTIAL_CUBE
    write(density_path, atoms, data=rho * Bohr**3, comment="all-electron density (e/Bohr^3), GPAW")
    write(potential_path, atoms, data=potential, comment="electrostatic potential (eV), GPAW")
    setups = calc.setups if hasattr(calc, "setups") else calc.dft.setups
    return {
        "energy": energy,
        "n_electrons": float(sum(atoms.numbers)),
        "valence": [float(s.Nv) for s in setups],
        "kpts": list(calc.parameters.get("kpts", [])) if isinstance(calc.parameters, dict) else None,
        "wall_time_s": time.perf_counter() - start,
        "files": {"density": str(density_path.resolve()), "potential": str(potential_path.resolve())},
    }
