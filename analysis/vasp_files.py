"""Files of a finished VASP run: where they are, valence electrons, what the run cost.

atomate2 gzips a run's outputs (``CHGCAR.gz``, ``OUTCAR.gz`` ...); hand-run folders hold them
plain. Everything here takes either.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from ionflow.inputs.errors import InputError

IONIC_STEP = "FREE ENERGIE OF THE ION-ELECTRON SYSTEM"
"""Printed once per ionic step (once per force evaluation) in an OUTCAR."""
ELAPSED = "Elapsed time (sec):"


def find_vasp_file(directory: str | Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` in ``directory``, or None."""
    directory = Path(directory)
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def vasp_output_file(directory: str | Path, name: str, fix: str) -> Path:
    """``name`` (or ``name.gz``) in a VASP run folder; a clear error with ``fix`` when absent."""
    found = find_vasp_file(directory, name)
    if found is None:
        raise InputError(str(Path(directory) / name), "is missing (nor is there a .gz)", fix)
    return found


def read_text(path: str | Path) -> str:
    """A text file, gzipped or not."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", errors="replace") as handle:
            return handle.read()
    return path.read_text(errors="replace")


def zval_from_outcar(path: str | Path) -> dict[str, float]:
    """Valence electrons (ZVAL) per element, as VASP printed them in the OUTCAR's POTCAR block."""
    from pymatgen.io.vasp.outputs import Outcar

    try:
        outcar = Outcar(str(path))
        outcar.read_pseudo_zval()
        zval = {str(k): float(v) for k, v in outcar.zval_dict.items()}
    except Exception as exc:  # pymatgen raises several kinds on damaged files
        raise InputError(
            str(path), f"has no readable ZVAL ({type(exc).__name__}: {exc})", "restore the OUTCAR"
        ) from None
    if not zval:
        raise InputError(str(path), "has no ZVAL lines (truncated?)", "restore the OUTCAR or give the POTCAR")
    return zval


def zval_from_potcar(path: str | Path) -> dict[str, float]:
    """Valence electrons (ZVAL) per element, read from a POTCAR."""
    from pymatgen.io.vasp import Potcar

    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such POTCAR", "give the POTCAR of the run (ZVAL is read from it)")
    return {p.element: float(p.zval) for p in Potcar.from_file(str(path))}


def valence_electrons(directory: str | Path) -> dict[str, float]:
    """ZVAL per element of a VASP run: from its POTCAR, or from its OUTCAR where the POTCAR
    was not kept (licensed files often are not)."""
    potcar = find_vasp_file(directory, "POTCAR")
    if potcar is not None:
        return zval_from_potcar(potcar)
    outcar = vasp_output_file(
        directory, "OUTCAR", "keep the run's POTCAR or OUTCAR: the valence electrons are read from it"
    )
    return zval_from_outcar(outcar)


@dataclass
class RunCost:
    """What one VASP run (one OUTCAR) cost."""

    ionic_steps: int
    """Force evaluations: one per ionic step."""
    elapsed_s: float | None
    """Wall time VASP reported; None for a run cut off before its timing block."""


def run_cost(path: str | Path) -> RunCost:
    """Ionic steps and elapsed wall time of the run that wrote the OUTCAR at ``path``."""
    return cost_from_outcar_text(read_text(path))


def cost_from_outcar_text(text: str) -> RunCost:
    """:func:`run_cost` of an OUTCAR already read."""
    at = text.rfind(ELAPSED)
    elapsed = float(text[at + len(ELAPSED) :].split()[0]) if at >= 0 else None
    return RunCost(text.count(IONIC_STEP), elapsed)


__all__ = [
    "RunCost",
    "cost_from_outcar_text",
    "find_vasp_file",
    "read_text",
    "run_cost",
    "valence_electrons",
    "vasp_output_file",
    "zval_from_outcar",
    "zval_from_potcar",
]
