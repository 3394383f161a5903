"""The expensive engine's calls of a warm-started band, kept on disk as they finish, so that a
band killed mid-rounds resumes instead of paying for them again.

Each call's energy and forces are one small JSON file (written atomically) in the band's
checkpoint folder (:class:`~ionflow.workflows.checkpoint.NebCheckpoint`). A rerun replays the
same rounds: the cheap potential's steps are repeated (they cost seconds), and the expensive
calls are read back in the order they were made. The replayed steps need not repeat the
killed run's arithmetic to the last digit (threaded BLAS, another node): the k-th call of the
rerun takes the k-th kept call when its atoms are within :data:`REPLAY_TOLERANCE` of it, and
the image is moved onto the kept configuration, so the rerun goes on from exactly where the
killed run was. The first call off that path ends the replay; from there calls are made. A
call killed before its file was written is simply made again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ionflow.inputs.files import atomic_write

REPLAY_TOLERANCE = 0.05
"""Å: largest atom shift at which a replayed call is taken to be the killed run's call at the
same point of the rounds (rounding differences of the cheap steps, amplified by an optimizer
that stops one step earlier or later; far below a round's trust radius, 0.1 Å)."""


class MeasurementLog:
    """The expensive calls made so far for one band, one file each in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict] = []
        self.replayed = 0
        """Kept calls handed back so far, in order; at ``len(entries)`` the replay is over."""
        for path in sorted(self.folder.glob("call-*.json")):
            try:
                entry = json.loads(path.read_text())
                entry = {key: np.asarray(value) for key, value in entry.items()}
            except (OSError, ValueError):  # not ours or unreadable: that call is made again
                continue
            self.entries.append(entry)

    def recall(self, atoms: Atoms) -> dict | None:
        """The next kept call if ``atoms`` is on the killed run's path (same atoms and cell,
        positions within :data:`REPLAY_TOLERANCE`), else None, and the replay ends."""
        if self.replayed >= len(self.entries):
            return None
        entry = self.entries[self.replayed]
        if (
            entry["numbers"].shape == atoms.numbers.shape
            and (entry["numbers"] == atoms.numbers).all()
            and np.allclose(entry["cell"], atoms.cell[:], atol=1e-6)
            and np.sqrt(((entry["positions"] - atoms.positions) ** 2).sum(axis=1)).max() < REPLAY_TOLERANCE
        ):
            self.replayed += 1
            return entry
        self.replayed = len(self.entries)  # off the path: every later call is made
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
        number = len(list(self.folder.glob("call-*.json")))  # after any file not read back
        atomic_write(self.folder / f"call-{number:05d}.json", json.dumps(entry).encode())
        self.entries.append({key: np.asarray(value) for key, value in entry.items()})
        self.replayed = len(self.entries)


class RememberedCalculator(Calculator):
    """``calculator`` with its calls kept in ``log``. Before a call, :meth:`recall` moves the
    image onto the configuration a killed run of the same band measured at that point of the
    rounds, and the call is read back. Both count as the engine's calls (``ionflow_counter``,
    shared with ``calculator``: what the barrier cost); ``reused`` counts those read back."""

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, calculator: Calculator, log: MeasurementLog) -> None:
        super().__init__()
        self.inner, self.log = calculator, log
        self.ionflow_counter = calculator.ionflow_counter
        self.reused = 0
        self._recalled: dict | None = None

    def recall(self, atoms: Atoms) -> None:
        """Before measuring ``atoms`` (a band image): if the replay of a killed run is at this
        call, move the image onto the configuration it measured (in place)."""
        self._recalled = self.log.recall(atoms)
        if self._recalled is not None:
            atoms.positions = self._recalled["positions"].copy()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        kept, self._recalled = self._recalled, None
        if kept is not None and np.array_equal(kept["positions"], self.atoms.positions):
            self.ionflow_counter.calls += 1
            self.reused += 1
            energy, forces = float(kept["energy"]), kept["forces"].copy()
        else:
            probe = self.atoms.copy()
            probe.calc = self.inner
            energy, forces = float(probe.get_potential_energy()), probe.get_forces()
            self.log.add(self.atoms, energy, forces)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}
