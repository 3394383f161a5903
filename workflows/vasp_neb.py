"""VASP's CI-NEB on a cluster: atomate2's NEB job with handlers that see a NEB
(:mod:`ionflow.workflows.neb_handlers`), and a rerun that resumes.

A rerun of a killed or stopped NEB (``ionflow rerun --lost``; the job runs in a new folder)
starts from the last positions of the interrupted run's images (their CONTCARs) instead of
the IDPP band: each run leaves a pointer to its folder under
``$IONFLOW_CHECKPOINTS/<hash of the band's start and INCAR>/``, the batch job's checkpoint
folder (:mod:`ionflow.workflows.checkpoint`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from atomate2.vasp.jobs.neb import NebFromImagesMaker, vasp_neb_job
from atomate2.vasp.run import JobType
from pymatgen.core import Structure
from pymatgen.io.vasp import Poscar

from ionflow.inputs.files import atomic_write
from ionflow.workflows.checkpoint import (
    CHECKPOINTS_ENV,
    band_key,
    image_folders,
    ionic_steps,
    mark_launch_folder,
)
from ionflow.workflows.neb_handlers import neb_handlers

POINTER = "vasp_run.json"


def _checkpoint(images: list[Structure], incar: dict) -> Path | None:
    root = os.environ.get(CHECKPOINTS_ENV)
    return Path(root) / band_key(images, {"vasp_incar": incar}) if root else None


def interrupted_images(images: list[Structure], previous: str | Path) -> list[Structure] | None:
    """The interior images' last positions in an interrupted run's folder (CONTCARs), between
    the given end points; None when any is missing, empty, unreadable or another cell's."""
    folders = image_folders(previous)
    if len(folders) != len(images) - 2:
        return None
    interior = []
    for folder, start in zip(folders, images[1:-1], strict=True):
        try:
            structure = Poscar.from_file(folder / "CONTCAR").structure
        except Exception:  # a CONTCAR cut or never written by the killed run: pymatgen raises several
            return None
        same = structure.composition == start.composition and len(structure) == len(start)
        if not same or abs(structure.volume - start.volume) > 1e-3 * start.volume:
            return None
        interior.append(structure)
    return [images[0], *interior, images[-1]]


def resumed_images(images: list[Structure], incar: dict) -> tuple[list[Structure], int]:
    """The band to start from: the interrupted run's images if this band was run before and
    stopped, else ``images``; and the ionic steps that run had made. Leaves the pointer to
    the current folder (and the marker ``ionflow status`` reads)."""
    folder = _checkpoint(images, incar)
    if folder is None:
        return images, 0
    folder.mkdir(parents=True, exist_ok=True)
    pointer = folder / POINTER
    start, steps = images, 0
    if pointer.exists():
        previous = Path(json.loads(pointer.read_text())["run"])
        found = interrupted_images(images, previous)
        if found is not None:
            start, steps = found, ionic_steps(previous)
    atomic_write(pointer, json.dumps({"run": str(Path.cwd())}).encode())
    mark_launch_folder({"vasp_run": str(Path.cwd())})
    return start, steps


def finished(images: list[Structure], incar: dict) -> None:
    """The band is done: forget its pointer."""
    folder = _checkpoint(images, incar)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class ResumableNebMaker(NebFromImagesMaker):
    """atomate2's VASP CI-NEB with :func:`neb_handlers`, resuming an interrupted band."""

    name: str = "ionflow CI-NEB"

    def __post_init__(self) -> None:
        self.run_vasp_kwargs = {**self.run_vasp_kwargs, "job_type": JobType.NEB, "handlers": neb_handlers()}

    @vasp_neb_job
    def make(self, images: list[Structure], prev_dir: str | Path | None = None):
        """atomate2's NEB job, from the interrupted run's images when there is one."""
        incar = dict(self.input_set_generator.user_incar_settings or {})
        start, _ = resumed_images(images, incar)
        response = NebFromImagesMaker.make.original(self, start, prev_dir)
        finished(images, incar)
        return response
