"""The embedded engine's machine-learned potentials (and GPAW for the NEB), every force call counted.

Relaxations and NEB run through atomate2's forcefield makers (ASE underneath); the makers'
``_get_calculator`` hook hands them a calculator whose ``calculate`` is counted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from ase.calculators.calculator import Calculator
from atomate2.forcefields.jobs import ForceFieldRelaxMaker
from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker
from pymatgen.core import Structure

from ionflow.workflows.settings import DFT_MODEL, VASP_MODEL

progress = logging.getLogger("ionflow.workflows.force_calls")
"""Every :data:`PROGRESS_EVERY` counted calls, one INFO line (calls, largest force, seconds):
silent unless a caller turns it on (the warm-start benchmark does, for its hours on DFT)."""
PROGRESS_EVERY = 25


def largest_norm(rows: np.ndarray) -> float:
    """Longest of the per-atom vectors in ``rows`` (n x 3)."""
    return float(np.sqrt((rows**2).sum(axis=1).max()))


class ForceCallCounter:
    """A call count shared by a calculator and all its copies (ASE's NEB deep-copies it)."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = time.perf_counter()

    def __copy__(self) -> ForceCallCounter:
        return self

    def __deepcopy__(self, memo: dict) -> ForceCallCounter:
        return self


def count_force_calls(calculator: Calculator) -> Calculator:
    """Count every ``calculate`` of ``calculator`` and of its copies in ``calculator.ionflow_counter``."""
    base = type(calculator)

    def calculate(self, *args, **kwargs):
        counter = self.ionflow_counter
        counter.calls += 1
        done = base.calculate(self, *args, **kwargs)
        if counter.calls % PROGRESS_EVERY == 0 and progress.isEnabledFor(logging.INFO):
            forces = self.results.get("forces")
            largest = largest_norm(forces) if forces is not None else float("nan")
            progress.info(
                "%s: %d force calls, largest force %.4f eV/Å, %.0f s",
                base.__name__,
                counter.calls,
                largest,
                time.perf_counter() - counter.started,
            )
        return done

    calculator.__class__ = type(f"Counted{base.__name__}", (base,), {"calculate": calculate})
    calculator.ionflow_counter = ForceCallCounter()
    return calculator


D3_CUTOFF = 20.0
"""Å: pair and coordination-number cutoff of the DFT-D3 term."""


def with_d3(calculator: Calculator) -> Calculator:
    """``calculator`` plus Grimme's DFT-D3 (zero damping, PBE parameters; torch-dftd, whose
    reference C6 data ship in its wheel): the machine-learned potential knows no dispersion,
    which holds graphene on a surface."""
    from ase.calculators.mixing import SumCalculator
    from torch_dftd.torch_dftd3_calculator import TorchDFTD3Calculator

    # a 20 Å cutoff instead of torch-dftd's 50 Å: 60x faster on a 52-atom slab, forces unchanged
    # to the NEB's tolerance (the energy shifts by ~0.02 eV, the same for every image)
    d3 = TorchDFTD3Calculator(device="cpu", damping="zero", xc="pbe", cutoff=D3_CUTOFF, cnthr=D3_CUTOFF)
    return SumCalculator([calculator, d3])


POTENTIALS: dict[str, str | dict[str, str]] = {
    "CHGNet": "CHGNet",  # weights ship inside the chgnet wheel
    "SevenNet": "SevenNet",  # SevenNet-0, weights inside the sevenn wheel
    # ASE's effective-medium theory for fcc metals (Al, Cu, Ag, Au, Ni, Pd, Pt): a real
    # engine that costs milliseconds, for tests and tutorials, not for electrolytes
    "EMT": {"@module": "ase.calculators.emt", "@callable": "EMT"},
}
"""The embedded engine's potentials by the name a spec, the CLI and the documents use."""

NEB_ENGINES: dict[str, str | dict[str, str]] = {
    **POTENTIALS,
    # GPAW's DFT (``--engine gpaw``), made with NebSettings.calculator_kwargs
    DFT_MODEL: {"@module": "ionflow.workflows.gpaw_engine", "@callable": "neb_calculator"},
    # VASP single points, one batch job (the warm start's rounds on a cluster)
    VASP_MODEL: {"@module": "ionflow.workflows.vasp_calculator", "@callable": "neb_calculator"},
}
"""Every engine the NEB code runs by name: the potentials, GPAW and VASP."""


class _Counting:
    dispersion: bool
    force_field_name: str | dict

    def __post_init__(self) -> None:
        if isinstance(self.force_field_name, str) and self.force_field_name in NEB_ENGINES:
            self.force_field_name = NEB_ENGINES[self.force_field_name]
        super().__post_init__()  # type: ignore[misc]

    def _get_calculator(self) -> Calculator:
        calculator = super()._get_calculator()  # type: ignore[misc]
        if self.dispersion:
            calculator = with_d3(calculator)
        return count_force_calls(calculator)

    @property
    def force_calls(self) -> int:
        """Force evaluations made so far by this maker's calculator."""
        return self.calculator.ionflow_counter.calls  # type: ignore[attr-defined]


@dataclass
class CountedRelaxMaker(_Counting, ForceFieldRelaxMaker):
    """atomate2's forcefield relaxation with counted force calls (``dispersion``: add DFT-D3)."""

    dispersion: bool = False


@dataclass
class CountedNebMaker(_Counting, ForceFieldNebFromImagesMaker):
    """atomate2's forcefield CI-NEB (ASE) with counted force calls (``dispersion``: add DFT-D3)."""

    dispersion: bool = False


def relax_positions(
    structures: list[Structure], force_field: str, fmax: float, steps: int = 500
) -> tuple[list[Structure], int]:
    """Each structure's positions relaxed at fixed cell on one engine, and the force calls it took."""
    maker = CountedRelaxMaker(
        force_field_name=force_field,
        relax_cell=False,
        steps=steps,
        # atomate2's relaxer otherwise appends to final_atoms_object.xyz in the working directory
        relax_kwargs={"fmax": fmax, "final_atoms_object_file": None},
    )
    relaxed = [maker._run_ase_safe(s.copy()).final_mol_or_struct for s in structures]
    return relaxed, maker.force_calls


HOST_RATTLE = 0.03
"""Å: standard deviation of the seeded random shift that breaks a built host's symmetry
before it is relaxed."""


def relaxed_host(
    structure: Structure,
    force_field: str,
    fmax: float = 0.02,
    steps: int = 1000,
    rattle: float = HOST_RATTLE,
    seed: int = 0,
) -> Structure:
    """A built host's positions relaxed at fixed cell from slightly rattled positions (seeded:
    the same displacements every run); its site properties (an interface's region labels) kept.

    A model built on ideal sites is a stationary point by symmetry, and a force-driven
    relaxation that starts on it stays there even where it is a saddle: an AP/graphene
    interface relaxed from its built registry fell another 0.33 eV (SevenNet) once rattled,
    the graphene sliding 0.6 Å, and in bulk AP the Li beside a vacancy moved off their ideal
    sites by 0.3-0.5 Å. Hops cut into such a host have end points that are not minima: a band
    between them passes below its own initial state.
    """
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(Structure(structure.lattice, structure.species, structure.frac_coords))
    atoms.rattle(rattle, seed=seed)
    (relaxed,), _ = relax_positions([AseAtomsAdaptor.get_structure(atoms)], force_field, fmax, steps)
    out = Structure(relaxed.lattice, relaxed.species, relaxed.frac_coords)
    for key, values in structure.site_properties.items():
        out.add_site_property(key, values)
    return out
