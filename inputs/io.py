"""Write built models to an output folder atomically: all files or none."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ase.io import write as ase_write
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.cif import CifWriter
from pymatgen.io.vasp import Poscar

from ionflow.inputs.errors import InputError

FORMATS = ("cif", "poscar", "extxyz", "json")


def _write_structure(structure: Structure, stem: Path, formats: tuple[str, ...]) -> list[str]:
    written = []
    for fmt in formats:
        if fmt == "cif":
            path = stem.with_suffix(".cif")
            CifWriter(structure).write_file(path)
        elif fmt == "poscar":
            path = stem.with_suffix(".vasp")
            Poscar(structure, sort_structure=False).write_file(path)
        elif fmt == "extxyz":
            path = stem.with_suffix(".extxyz")
            atoms = AseAtomsAdaptor.get_atoms(structure)
            for key in list(atoms.arrays):
                if key not in ("numbers", "positions", "region"):
                    del atoms.arrays[key]
            ase_write(path, atoms, format="extxyz")
        elif fmt == "json":  # keeps site properties such as ``region``
            path = stem.with_suffix(".json")
            path.write_text(json.dumps(structure.as_dict()))
        else:
            raise InputError("--format", f"unknown format {fmt!r}", f"use {', '.join(FORMATS)}")
        written.append(path.name)
    return written


def write_models(
    out: Path,
    structures: Mapping[str, Structure],
    summary: dict,
    formats: tuple[str, ...] = FORMATS,
) -> Path:
    """Write ``structures`` (name -> structure) and ``summary.json`` into ``out``.

    The files are written to a temporary folder beside ``out`` and moved into place in one
    rename, so a failure leaves nothing half-written. An existing non-empty ``out`` is never
    overwritten.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(
            str(out),
            "already exists and is not empty",
            "choose a new --out folder (results are never overwritten)",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        files: dict[str, list[str]] = {}
        for name, structure in structures.items():
            stem = tmp / name
            stem.parent.mkdir(parents=True, exist_ok=True)
            files[name] = _write_structure(structure, stem, formats)
        (tmp / "summary.json").write_text(json.dumps({**summary, "files": files}, indent=2, default=str))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
