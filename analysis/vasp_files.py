"""Files of a finished VASP run: where they are, valence electrons, what the run cost.

atomate2 gzips a run's outputs (``CHGCAR.gz``, ``OUTCAR.gz`` ...); hand-run folders hold them
plain. Everything here takes either.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from pymatgen.core import Structure
from pymatgen.io.vasp import Outcar, Potcar

from ionflow.inputs.errors import InputError

T = TypeVar("T")

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


def read_text(path: str | Path, fix: str = "recopy the file from the run folder") -> str:
    """A text file, gzipped or not; a gzip cut short or damaged is an InputError naming it."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", errors="replace") as handle:
                return handle.read()
        return path.read_text(errors="replace")
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(str(path), f"cannot be read ({why(exc)}; a gzip cut short?)", fix) from None


def why(exc: BaseException) -> str:
    """An exception in a few words for a one-line error: its type and the first line of its text."""
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def parsed(path: str | Path, read: Callable[[str], T], what: str, fix: str) -> T:
    """``read(path)`` by a library reader (pymatgen, ASE); a missing, empty, truncated or
    damaged file is one InputError naming it, whatever the reader raised."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), f"no such {what}", fix)
    if path.stat().st_size == 0:
        raise InputError(str(path), f"is empty (no {what})", fix)
    try:
        return read(str(path))
    except InputError:
        raise
    except Exception as exc:  # readers raise every kind on damaged files (EOFError, ValueError ...)
        raise InputError(str(path), f"cannot be read as {what} ({why(exc)})", fix) from None


def check_same_atoms(
    first: Structure,
    other: Structure,
    first_file: str | Path,
    other_file: str | Path,
    fix: str,
    cell: bool = False,
) -> None:
    """Two files that belong together hold the same atoms in the same order (and with ``cell``
    the same cell); else an InputError naming both, with ``fix``."""
    names = f"{first_file} and {other_file}"
    if len(first) != len(other):
        raise InputError(names, f"hold {len(first)} and {len(other)} atoms", fix)
    if [s.species_string for s in first] != [s.species_string for s in other]:
        raise InputError(names, "list their atoms' elements in different orders", fix)
    if cell and not np.allclose(first.lattice.matrix, other.lattice.matrix, atol=1e-3):
        raise InputError(names, "have different cells", fix)


def zval_from_outcar(path: str | Path) -> dict[str, float]:
    """Valence electrons (ZVAL) per element, as VASP printed them in the OUTCAR's POTCAR block."""

    def zval(name: str) -> dict[str, float]:
        outcar = Outcar(name)
        outcar.read_pseudo_zval()
        return {str(k): float(v) for k, v in outcar.zval_dict.items()}

    zval = parsed(path, zval, "an OUTCAR with ZVAL lines", "restore the OUTCAR")
    if not zval:
        raise InputError(str(path), "has no ZVAL lines (truncated?)", "restore the OUTCAR or give the POTCAR")
    return zval


def zval_from_potcar(path: str | Path) -> dict[str, float]:
    """Valence electrons (ZVAL) per element, read from a POTCAR (plain or gzipped)."""

    def zval(name: str) -> dict[str, float]:
        return {p.element: float(p.zval) for p in Potcar.from_str(read_text(name))}

    found = parsed(path, zval, "a POTCAR", "recopy the run's POTCAR (ZVAL is read from it)")
    if not found:
        raise InputError(str(path), "holds no POTCAR entry", "recopy the run's POTCAR")
    return found


def valence_electrons(directory: str | Path, elements: list[str] | None = None) -> dict[str, float]:
    """ZVAL per element of a VASP run: from its POTCAR, or from its OUTCAR where the POTCAR
    was not kept (licensed files often are not). With ``elements`` (the run's atoms), an
    element the file has no ZVAL for is an InputError (a POTCAR of another run)."""
    source = find_vasp_file(directory, "POTCAR")
    if source is not None:
        zval = zval_from_potcar(source)
    else:
        source = vasp_output_file(
            directory, "OUTCAR", "keep the run's POTCAR or OUTCAR: the valence electrons are read from it"
        )
        zval = zval_from_outcar(source)
    missing = sorted(set(elements or ()) - set(zval))
    if missing:
        raise InputError(
            str(source),
            f"has no ZVAL for {', '.join(missing)} (it lists {', '.join(zval)})",
            "use the POTCAR/OUTCAR of the same run as the charge density",
        )
    return zval


@dataclass
class RunCost:
    """What one VASP run (one OUTCAR) cost."""

    ionic_steps: int
    """Force evaluations: one per ionic step."""
    elapsed_s: float | None
    """Wall time VASP reported; None for a run cut off before its timing block."""


def volumetric_grid(
    path: str | Path, what: str = "a VASP charge or potential file"
) -> tuple[int, tuple[int, int, int]]:
    """Atoms and grid of a CHGCAR-format file (CHGCAR, AECCAR0/2, LOCPOT; plain or gzipped),
    checked before any reader allocates the grid: the header's atom counts against its
    position lines, and the header's grid against the values that follow it (a file cut short,
    or one whose header was edited, is an InputError naming it)."""
    fix = "recopy the file from the run folder (or rerun the static job)"
    lines = read_text(path, fix).splitlines()

    def bad(problem: str) -> InputError:
        return InputError(str(path), problem, fix)

    try:
        counts_line = 6 if lines[5].split() and lines[5].split()[0].isalpha() else 5
        n_atoms = sum(int(x) for x in lines[counts_line].split())
        first = counts_line + 1
        if lines[first].strip()[:1].lower() == "s":  # Selective dynamics
            first += 1
        positions = lines[first + 1 : first + 1 + n_atoms]
        if len(positions) < n_atoms or any(len(p.split()) < 3 for p in positions):
            raise bad(f"lists {n_atoms} atoms but fewer positions (truncated header?)")
        at = first + 1 + n_atoms
        while at < len(lines) and not lines[at].strip():
            at += 1
        grid = tuple(int(x) for x in lines[at].split())
    except InputError:
        raise
    except (IndexError, ValueError):
        raise bad(f"is not {what} (its header is incomplete or damaged)") from None
    if len(grid) != 3 or min(grid) < 1:
        raise bad(f"has no grid line after its {n_atoms} positions (found {lines[at].strip()[:40]!r})")
    expected, found, widths = grid[0] * grid[1] * grid[2], 0, []
    data = lines[at + 1 :]
    row = 0
    while row < len(data) and found < expected:
        tokens = data[row].split()
        if not tokens or not _numbers(tokens):
            break
        found += len(tokens)
        widths.append(len(tokens))
        row += 1
    size = f"{grid[0]}x{grid[1]}x{grid[2]}"
    if found < expected:
        raise bad(f"holds {found} values for a {size} grid ({expected}): cut short or damaged")
    # more values than the header's grid: the count ends inside a line, or full lines go on
    tokens = data[row].split() if row < len(data) else []
    more = (
        len(widths) > 1
        and widths[-1] == widths[0] == len(tokens)
        and data[row].strip() != lines[at].strip()
        and _numbers(tokens)
    )
    if found > expected or more:
        raise bad(f"holds more values than its header's {size} grid: the header disagrees with the data")
    return n_atoms, grid


def _numbers(tokens: list[str]) -> bool:
    try:
        [float(t) for t in tokens]
    except ValueError:
        return False
    return True


def run_cost(path: str | Path) -> RunCost:
    """Ionic steps and elapsed wall time of the run that wrote the OUTCAR at ``path``."""
    return cost_from_outcar_text(read_text(path))


def runs_cost(folders: list[Path]) -> tuple[int, float]:
    """Force calls (ionic steps) and wall time (s) of the VASP runs in ``folders``, from their
    OUTCARs; a run without its timing block adds no time."""
    costs = [
        run_cost(vasp_output_file(f, "OUTCAR", "keep the run's OUTCAR (VASP writes one)")) for f in folders
    ]
    return sum(c.ionic_steps for c in costs), sum(c.elapsed_s or 0.0 for c in costs)


def cost_from_outcar_text(text: str) -> RunCost:
    """:func:`run_cost` of an OUTCAR already read."""
    at = text.rfind(ELAPSED)
    elapsed = float(text[at + len(ELAPSED) :].split()[0]) if at >= 0 else None
    return RunCost(text.count(IONIC_STEP), elapsed)


__all__ = [
    "RunCost",
    "check_same_atoms",
    "cost_from_outcar_text",
    "find_vasp_file",
    "parsed",
    "read_text",
    "run_cost",
    "runs_cost",
    "valence_electrons",
    "vasp_output_file",
    "volumetric_grid",
    "why",
    "zval_from_outcar",
    "zval_from_potcar",
]
