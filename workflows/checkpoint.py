"""Checkpoints of a CI-NEB band, so that a NEB job killed mid-run resumes where it was.

ASE's own mechanisms keep them: the optimizer appends every step's band to a trajectory
(``trajectory=``, ``append_trajectory=True``; a NEB is written image by image) and writes its
state (FIRE's velocities and time step) to a restart file (``restart=``). A rerun of the same
band starts from the last whole band in the trajectory with the optimizer's state, so no step
is repeated. The folder is named by a hash of the band's start and its settings (a rerun of
the job, whatever its launch folder, finds it; a different band never does) under
``$IONFLOW_CHECKPOINTS`` (a batch job sets it to the profile's ``work_dir/checkpoints``);
without that variable nothing is written. The job's launch folder gets a small marker naming
the checkpoint, which ``ionflow status`` reads to call a lost job resumable. A band that
finishes removes its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.io import Trajectory
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.analysis.neb import IMAGE_DIR
from ionflow.analysis.vasp_files import find_vasp_file, run_cost
from ionflow.inputs.errors import InputError
from ionflow.inputs.files import atomic_write

CHECKPOINTS_ENV = "IONFLOW_CHECKPOINTS"
"""Folder of NEB checkpoints; unset: none are written."""
MARKER = "neb-checkpoint.json"
"""In a job's launch folder: where its band's checkpoint is (a VASP NEB: its own run folder,
whose images' CONTCARs a rerun starts from, :mod:`ionflow.workflows.vasp_neb`)."""


def band_key(images: list[Structure], settings: dict) -> str:
    """Hash of a band's start (species, cell, positions to 1e-6 Å) and of its settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for image in images:
        digest.update(" ".join(sorted(map(str, image.atomic_numbers))).encode())
        digest.update(np.round(image.lattice.matrix, 6).tobytes())
        digest.update(np.round(image.cart_coords, 6).tobytes())
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class NebCheckpoint:
    """One band's checkpoint folder: the optimizer's trajectory and restart file."""

    folder: Path

    @property
    def trajectory(self) -> Path:
        return self.folder / "band.traj"

    @property
    def optimizer_state(self) -> Path:
        return self.folder / "optimizer.json"

    @classmethod
    def for_band(cls, images: list[Structure], settings: dict) -> NebCheckpoint | None:
        """The band's checkpoint under ``$IONFLOW_CHECKPOINTS`` (None when unset), its folder
        made and named in the current (launch) folder's marker."""
        root = os.environ.get(CHECKPOINTS_ENV)
        if not root:
            return None
        checkpoint = cls(Path(root) / band_key(images, settings))
        checkpoint.folder.mkdir(parents=True, exist_ok=True)
        mark_launch_folder({"checkpoint": str(checkpoint.folder), "images": len(images)})
        return checkpoint

    def last_band(self, n_images: int) -> tuple[list[Structure], int] | None:
        """The last whole band written (end points included) and how many bands were written;
        None when there is none (or the trajectory cannot be read: the band starts afresh)."""
        if not self.trajectory.exists():
            return None
        try:
            with Trajectory(str(self.trajectory)) as frames:
                bands = len(frames) // n_images
                if bands == 0:
                    return None
                atoms = [frames[i] for i in range((bands - 1) * n_images, bands * n_images)]
        except Exception:  # a trajectory cut mid-frame by a kill: ASE's reader raises its own errors
            return None
        return [AseAtomsAdaptor.get_structure(a) for a in atoms], bands

    def optimizer_kwargs(self, resuming: bool) -> dict:
        """ASE optimizer arguments that write the checkpoint (and, resuming, read its state)."""
        state = self.optimizer_state
        if state.exists() and not (resuming and _readable_json(state)):
            state.unlink()  # no band to go with it, or cut mid-write: the optimizer starts afresh
        if not resuming:
            self.trajectory.unlink(missing_ok=True)
        return {"trajectory": str(self.trajectory), "append_trajectory": True, "restart": str(state)}

    def remove(self) -> None:
        """Remove the checkpoint for good: the band is done."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def image_folders(run: str | Path) -> list[Path]:
    """The interior image folders of a VASP NEB run (``01`` ... ``NN-1``)."""
    run = Path(run)
    if not run.is_dir():  # the interrupted run's folder was removed: nothing to resume from
        return []
    folders = sorted(p for p in run.iterdir() if p.is_dir() and IMAGE_DIR.match(p.name))
    return folders[1:-1]


def ionic_steps(run: str | Path) -> int:
    """Ionic steps a VASP NEB run made (its first image's OUTCAR, plain or gzipped; 0 when
    there is none or it cannot be read)."""
    folders = image_folders(run)
    outcar = find_vasp_file(folders[0], "OUTCAR") if folders else None
    try:
        return run_cost(outcar).ionic_steps if outcar else 0
    except InputError:  # a gzip cut short by the kill
        return 0


def mark_launch_folder(marker: dict) -> None:
    """Name the job's checkpoint in the current (launch) folder, for ``ionflow status``."""
    atomic_write(Path.cwd() / MARKER, json.dumps(marker).encode())


def resumable_steps(launch_dir: str | Path | None) -> int:
    """Steps a lost NEB job can resume from (0: none), from its launch folder's marker: the
    optimizer's steps of an embedded band, the ionic steps of a VASP NEB run."""
    if not launch_dir:
        return 0
    try:
        marker = json.loads((Path(launch_dir) / MARKER).read_text())
        if "vasp_run" in marker:
            return ionic_steps(marker["vasp_run"])
        found = NebCheckpoint(Path(marker["checkpoint"])).last_band(int(marker["images"]))
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    return found[1] - 1 if found else 0
