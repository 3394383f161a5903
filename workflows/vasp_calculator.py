"""VASP single points as an ASE calculator: the expensive engine of the warm start's
Δ-corrected rounds on a cluster (``NEB_ENGINES["VASP"]``).

The rounds (:func:`~ionflow.workflows.warm_start.warm_started_band`) run in one batch job and
ask for one image's energy and forces at a time. Each call is one VASP run in its own folder
(``vasp-calls/call-NNNN``): atomate2's input writer with the relaxations' generator and tags
(``common`` + ``neb_single_point`` [+ ``interface``] of the ``vasp`` preset: the same
electronic settings and k-point mesh as the end points' relaxations, whose energies the
band's are compared with), VASP through atomate2's ``run_vasp`` (custodian and its error
handlers), and pymatgen's vasprun.xml parser. The call on an image starts from the wave
functions of the nearest earlier call (its WAVECAR moved over).
"""

from __future__ import annotations

import shutil
from contextlib import chdir
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from atomate2.vasp.files import write_vasp_input_set
from atomate2.vasp.run import JobType, run_vasp
from atomate2.vasp.sets.core import RelaxSetGenerator
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp import Vasprun

from ionflow.analysis.vasp_files import find_vasp_file
from ionflow.workflows.vasp import VASP, gamma_mesh, single_point_incar

CALLS_FOLDER = "vasp-calls"
WAVECAR_REACH = 0.5
"""Å: an earlier call whose atoms are all within this of the new one lends it its WAVECAR."""


def vasp_order(structure: Structure) -> list[int]:
    """The site order of VASP's POSCAR (pymatgen's input sets sort sites by species)."""
    return sorted(range(len(structure)), key=lambda i: structure[i])


def read_single_point(folder: Path) -> tuple[float, np.ndarray]:
    """Energy (eV, σ → 0, as atomate2's task documents) and forces (eV/Å, POSCAR order) of a
    finished single point; a run whose SCF did not converge is an error."""
    path = find_vasp_file(folder, "vasprun.xml")
    if path is None:
        raise RuntimeError(f"{folder}: VASP left no vasprun.xml (see its OUTCAR and custodian.json)")
    try:
        run = Vasprun(path, parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    except Exception as exc:  # cut by a kill or a crash: pymatgen's XML parser raises several
        raise RuntimeError(f"{path}: unreadable ({exc}); rerun resumes the rounds") from exc
    if not run.converged_electronic:
        raise RuntimeError(f"{folder}: VASP's SCF did not converge (see OSZICAR); rerun resumes the rounds")
    return float(run.final_energy), np.asarray(run.ionic_steps[-1]["forces"], dtype=float)


class NebVasp(Calculator):
    """One VASP single point per call (see the module's description).

    Parameters
    ----------
    incar_overrides
        INCAR tags over the preset's (the flow's ``incar_overrides``).
    kspacing
        Largest k-point spacing (1/Å) of the Γ-centred mesh, as the relaxations'.
    slab
        An interface (vacuum along c): D3 and the dipole correction, one k-point along c.
    root
        Folder of the calls (default ``vasp-calls`` in the job's folder).
    execute
        Run VASP (False: write the inputs only; what the tests check tag by tag).
    run_vasp_kwargs
        atomate2's ``run_vasp`` arguments (its SETTINGS' ``VASP_CMD`` and handlers by default).
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(
        self,
        incar_overrides: dict | None = None,
        kspacing: float = VASP.kspacing,
        slab: bool = False,
        root: str | None = None,
        execute: bool = True,
        run_vasp_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.incar = single_point_incar(slab, incar_overrides)
        self.kspacing, self.slab, self.execute = kspacing, slab, execute
        self.root = Path(root or Path.cwd() / CALLS_FOLDER)
        self.run_vasp_kwargs = {"job_type": JobType.NORMAL, **(run_vasp_kwargs or {})}
        self.done: list[tuple[np.ndarray, Path]] = []

    def write_inputs(self, structure: Structure, folder: Path) -> None:
        """INCAR, KPOINTS, POSCAR and POTCAR (or POTCAR.spec when not executing) in ``folder``."""
        mesh = gamma_mesh(structure, self.kspacing, self.slab)
        generator = RelaxSetGenerator(user_incar_settings=self.incar, user_kpoints_settings=mesh)
        write_vasp_input_set(structure, generator, directory=folder, potcar_spec=not self.execute)

    def _next_folder(self) -> Path:
        n = len(self.done)
        while (self.root / f"call-{n:04d}").exists():
            n += 1
        folder = self.root / f"call-{n:04d}"
        folder.mkdir(parents=True)
        return folder

    def _lend_wavecar(self, positions: np.ndarray, folder: Path) -> None:
        near = [
            (np.sqrt(((p - positions) ** 2).sum(axis=1)).max(), f)
            for p, f in self.done
            if p.shape == positions.shape and (f / "WAVECAR").exists()
        ]
        if near and min(near)[0] < WAVECAR_REACH:
            shutil.move(min(near)[1] / "WAVECAR", folder / "WAVECAR")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        structure = AseAtomsAdaptor.get_structure(self.atoms)
        order = vasp_order(structure)
        folder = self._next_folder()
        self.write_inputs(Structure.from_sites([structure[i] for i in order]), folder)
        if not self.execute:
            raise RuntimeError(f"{folder}: inputs written; VASP is not run (execute=False)")
        self._lend_wavecar(self.atoms.positions, folder)
        with chdir(folder):
            run_vasp(**self.run_vasp_kwargs)
        energy, sorted_forces = read_single_point(folder)
        forces = np.empty_like(sorted_forces)
        forces[order] = sorted_forces
        self.done.append((self.atoms.positions.copy(), folder))
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}


def neb_calculator(
    incar_overrides: dict | None = None, kspacing: float = VASP.kspacing, slab: bool = False
) -> NebVasp:
    """VASP as the expensive engine of the rounds (``NEB_ENGINES["VASP"]``, made with the
    flow's ``incar_overrides``, mesh spacing and slab flag)."""
    return NebVasp(incar_overrides, kspacing, slab)
