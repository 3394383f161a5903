"""custodian handlers that see a VASP NEB.

custodian's VASP handlers are written for one run in one folder: INCAR, POSCAR and the
outputs (OUTCAR, OSZICAR, vasprun.xml) side by side. A VASP NEB keeps its inputs and logs
(INCAR, KPOINTS, POTCAR, ``vasp.out``) in the run folder and each image's geometry and
outputs in ``00`` ... ``NN``, so on the run folder most of atomate2's default handlers look at
nothing (an image whose SCF never converges, or whose smearing is too large, goes unseen), and
some of VaspErrorHandler's corrections fail (they read the structure or the OUTCAR: measured on a
real NEB folder in ``tests/workflows/test_neb_handlers.py``).

:class:`ImageHandler` shows a handler the NEB one image at a time, as the single run it
expects: a scratch folder with the run folder's inputs and logs and the image's files. When
one image fails, custodian's own correction runs there; the INCAR or KPOINTS it wrote become
the band's (written to the run folder), and its file actions (delete a WAVECAR, copy CONTCAR
to POSCAR) are made in every image folder, since a NEB's images run as one; a fix that
changes the cell is not made (it would have to change every image and end point alike). The
files of the run folder and of every image are backed up first (custodian's ``error.N.tar.gz``).

:class:`NebWalltimeHandler` times the ionic steps in the images' OUTCARs and writes the
STOPCAR (LSTOP: finish the ionic step, write CONTCARs) in the run folder and in every image
folder before the walltime, so a rerun resumes (:mod:`ionflow.workflows.vasp_neb`).

Left out of :func:`neb_handlers`: PotimErrorHandler and UnconvergedErrorHandler (their
corrections change POTIM/IBRION, which a NEB's optimiser settings fix, or restart from the
CONTCARs, which the rerun's resume already does), and the k-mesh and smearing-type handlers
that read only a finished vasprun.xml.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from custodian.ansible.actions import FileActions
from custodian.ansible.interpreter import Modder
from custodian.custodian import ErrorHandler
from custodian.utils import backup
from custodian.vasp.handlers import (
    VASP_BACKUP_FILES,
    FrozenJobErrorHandler,
    LargeSigmaHandler,
    NonConvergingErrorHandler,
    PositiveEnergyErrorHandler,
    StdErrHandler,
    VaspErrorHandler,
    WalltimeHandler,
)

from ionflow.inputs.files import atomic_write
from ionflow.workflows.checkpoint import image_folders

WALLTIME_ENV = "IONFLOW_WALLTIME_S"
"""The batch job's walltime in seconds (the rocket sets it from the profile)."""
BAND_INPUTS = ("INCAR", "KPOINTS")
"""The band's inputs a correction may change: the run folder's, shared by every image."""
COPIED = (*BAND_INPUTS, "POTCAR", "POSCAR")
"""Copied into an image's view (a correction writes them); every other file is linked."""


@contextmanager
def image_view(run: Path, image: Path) -> Iterator[Path]:
    """A scratch folder that looks like one VASP run: the run folder's files (inputs, logs)
    with the image's files over them. Inputs are copies, outputs links (read only)."""
    with tempfile.TemporaryDirectory(prefix=f"neb-image-{image.name}-") as scratch:
        view = Path(scratch)
        for folder in (run, image):
            for path in folder.iterdir():
                if not path.is_file() or (folder == image and path.name in BAND_INPUTS):
                    continue
                target = view / path.name
                target.unlink(missing_ok=True)
                if path.name in COPIED:
                    shutil.copyfile(path, target)
                else:
                    target.symlink_to(path.resolve())
        yield view


class ImageHandler(ErrorHandler):
    """A custodian handler for one VASP run, applied to each image of a NEB (module notes)."""

    def __init__(self, handler: ErrorHandler) -> None:
        self.handler = handler
        self.is_monitor = handler.is_monitor
        self.is_terminating = handler.is_terminating
        self.raises_runtime_error = handler.raises_runtime_error
        self.max_num_corrections = handler.max_num_corrections
        self.failed_image: str | None = None

    def _failing(self, run: Path) -> Path | None:
        for image in image_folders(run):
            with image_view(run, image) as view:
                if self.handler.check(str(view)):
                    return image
        return None

    def check(self, directory: str = "./") -> bool:
        image = self._failing(Path(directory))
        self.failed_image = None if image is None else image.name
        return image is not None

    def correct(self, directory: str = "./") -> dict:
        run = Path(directory)
        images = image_folders(run)
        image = next((i for i in images if i.name == self.failed_image), None) or self._failing(run)
        if image is None:  # fixed meanwhile: nothing to correct
            return {"errors": [], "actions": []}
        for folder in (run, *images):
            backup(VASP_BACKUP_FILES, directory=str(folder))
        with image_view(run, image) as view:
            self.handler.check(str(view))  # the handler's own record of what it found
            result = self.handler.correct(str(view))
            errors = [f"{error} (image {image.name})" for error in result.get("errors", [])]
            if any(action.get("dict") == "POSCAR" for action in result.get("actions") or []):
                reason = "its fix changes the cell, which must change in every image and end point"
                return {"errors": [*errors, reason], "actions": None}
            for name in BAND_INPUTS:
                changed = (view / name).is_file() and not (
                    (run / name).is_file() and filecmp.cmp(view / name, run / name, shallow=False)
                )
                if changed:
                    atomic_write(run / name, (view / name).read_bytes())
        for action in result.get("actions") or []:
            if "file" in action:  # e.g. CONTCAR -> POSCAR, or a WAVECAR deleted: in every image
                for folder in images:
                    if (folder / action["file"]).exists():
                        modder = Modder(actions=[FileActions], directory=str(folder))
                        modder.modify(action["action"], action["file"])
        return {**result, "errors": errors}


class NebWalltimeHandler(WalltimeHandler):
    """custodian's walltime handler for a NEB: ionic-step timings from the first image's
    OUTCAR, the STOPCAR in the run folder and in every image folder. Without ``wall_time`` it
    takes ``$IONFLOW_WALLTIME_S``, then custodian's own variables (PBS_WALLTIME, SBATCH_TIMELIMIT)."""

    def __init__(self, wall_time: int | None = None, buffer_time: int = 300) -> None:
        if wall_time is None and os.environ.get(WALLTIME_ENV):
            wall_time = int(os.environ[WALLTIME_ENV])
        super().__init__(wall_time=wall_time, buffer_time=buffer_time)

    def check(self, directory: str = "./") -> bool:
        images = image_folders(directory)
        return bool(images) and super().check(str(images[0]))

    def correct(self, directory: str = "./") -> dict:
        for folder in (Path(directory), *image_folders(directory)):
            super().correct(str(folder))
        return {"errors": ["Walltime reached"], "actions": None}


def neb_handlers() -> list[ErrorHandler]:
    """custodian handlers for a VASP NEB run: atomate2's defaults that a NEB can use, each seeing
    the images (see the module's notes), and the walltime stop."""
    return [
        ImageHandler(VaspErrorHandler(output_filename="vasp.out")),
        ImageHandler(StdErrHandler(output_filename="std_err.txt")),
        ImageHandler(NonConvergingErrorHandler()),
        ImageHandler(PositiveEnergyErrorHandler()),
        ImageHandler(LargeSigmaHandler()),
        ImageHandler(FrozenJobErrorHandler(output_filename="vasp.out")),
        NebWalltimeHandler(),
    ]
