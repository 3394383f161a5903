"""The expensive engine's calls of a warm-started band, kept on disk as they finish, so that a
band killed mid-rounds resumes instead of paying for them again.

Each call's energy and forces are one small JSON file (written atomically) in the band's
checkpoint folder (:class:`~ionflow.workflows.checkpoint.NebCheckpoint`). A rerun replays the
same rounds: the cheap potential's steps are repeated (they cost seconds), and every
expensive call whose configuration was measured before (the same atoms within
:data:`TOLERANCE`) is read back instead of run. A call killed before its file was written is
simply made again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ionflow.inputs.files import atomic_write

TOLERANCE = 1e-4
"""Å: largest atom shift at which a kept call stands for a new one (the replayed rounds repeat
the cheap potential's arithmetic; its last digits may differ on another node)."""


class MeasurementLog:
    """The expensive calls made so far for one band, one file each in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict] = []
        for path in sorted(self.folder.glob("call-*.json")):
            try:
                entry = json.loads(path.read_text())
                entry = {key: np.asarray(value) for key, value in entry.items()}
            except (OSError, ValueError):  # not ours or unreadable: that call is made again
                continue
            self.entries.append(entry)

    def find(self, atoms: Atoms) -> tuple[float, np.ndarray] | None:
        """Energy and forces of a kept call at ``atoms``' configuration, or None."""
        for entry in self.entries:
            if (
                entry["numbers"].shape == atoms.numbers.shape
                and (entry["numbers"] == atoms.numbers).all()
                and np.allclose(entry["cell"], atoms.cell[:], atol=1e-6)
                and np.sqrt(((entry["positions"] - atoms.positions) ** 2).sum(axis=1)).max() < TOLERANCE
            ):
                return float(entry["energy"]), entry["forces"].copy()
        return None

    def add(self, atoms: Atoms, energy: float, forces: np.ndarray) -> None:
        """Keep one finished call (atomically: a kill leaves the file whole or absent)."""
        entry = {
            "numbers": atoms.numbers.tolist(),
            "cell": atoms.cell[:].tolist(),
            "positions": atoms.positions.tolist(),
            "energy": float(energy),
            "forces": np.asarray(forces).tolist(),
        }
        atomic_write(self.folder / f"call-{len(self.entries):05d}.json", json.dumps(entry).encode())
        self.entries.append({key: np.asarray(value) for key, value in entry.items()})


class RememberedCalculator(Calculator):
    """``calculator`` with its calls kept in ``log``: a configuration measured before (by a
    killed run of the same band) is read back. Both count as the engine's calls
    (``ionflow_counter``, shared with ``calculator``: what the barrier cost); ``reused`` counts
    those read back."""

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, calculator: Calculator, log: MeasurementLog) -> None:
        super().__init__()
        self.inner, self.log = calculator, log
        self.ionflow_counter = calculator.ionflow_counter
        self.reused = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        found = self.log.find(self.atoms)
        if found is None:
            probe = self.atoms.copy()
            probe.calc = self.inner
            found = float(probe.get_potential_energy()), probe.get_forces()
            self.log.add(self.atoms, *found)
        else:
            self.ionflow_counter.calls += 1
            self.reused += 1
        energy, forces = found
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}
