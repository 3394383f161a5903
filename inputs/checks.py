"""Physical sanity checks applied to every model before it is written."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np
from pymatgen.core import Structure

from ionflow.inputs.errors import InputError

MIN_DISTANCE = 0.7
"""Smallest allowed interatomic distance (angstrom) between atoms that are not bonded pairs."""

BONDED_PAIRS: frozenset[frozenset[str]] = frozenset({frozenset({"O", "H"}), frozenset({"C", "H"})})
"""Element pairs allowed closer than :data:`MIN_DISTANCE` (covalent X-H bonds)."""


def closest_pair(
    structure: Structure, skip: Iterable[frozenset[str]] = BONDED_PAIRS
) -> tuple[float, int, int]:
    """Return the shortest periodic distance between two sites whose elements are not in ``skip``.

    Parameters
    ----------
    structure
        Any periodic structure.
    skip
        Element pairs (as frozensets; ``frozenset({"H"})`` means H-H) to ignore.

    Returns
    -------
    tuple
        ``(distance, i, j)``; ``(inf, -1, -1)`` for a single-site cell.
    """
    skip = set(skip)
    if len(structure) < 2:
        return float("inf"), -1, -1
    dmat = structure.distance_matrix.copy()
    np.fill_diagonal(dmat, np.inf)
    symbols = [site.specie.symbol for site in structure]
    order = np.argsort(dmat, axis=None)
    for flat in order:
        i, j = np.unravel_index(flat, dmat.shape)
        if not np.isfinite(dmat[i, j]):
            break
        if frozenset({symbols[i], symbols[j]}) not in skip:
            return float(dmat[i, j]), int(i), int(j)
    return float("inf"), -1, -1


def assert_no_close_atoms(structure: Structure, source: str, threshold: float = MIN_DISTANCE) -> None:
    """Raise :class:`InputError` when two non-bonded atoms are closer than ``threshold``."""
    dist, i, j = closest_pair(structure)
    if dist < threshold:
        a, b = structure[i].specie.symbol, structure[j].specie.symbol
        raise InputError(
            source,
            f"atoms {i} ({a}) and {j} ({b}) are {dist:.2f} Å apart, closer than {threshold} Å",
            "check the coordinates and lattice, or increase the gap/cell that placed them",
        )


def net_charge(structure: Structure, oxidation_states: Mapping[str, float]) -> float:
    """Formal charge of ``structure`` from per-element oxidation states."""
    return float(sum(oxidation_states[site.specie.symbol] for site in structure))


def vacuum_gap(structure: Structure) -> tuple[float, float]:
    """The widest gap (Å) between atomic heights along c, across the periodic boundary too,
    and the height where the atoms start above it (a slab's bottom when the gap is vacuum)."""
    c = structure.lattice.c
    heights = np.sort(np.mod(structure.frac_coords[:, 2], 1.0)) * c
    gaps = np.diff(np.append(heights, heights[0] + c))
    widest = int(np.argmax(gaps))
    return float(gaps[widest]), float(heights[(widest + 1) % len(heights)])


def structure_fingerprint(*structures: Structure, extra: str = "") -> str:
    """Hash of species, lattice and positions (rounded to 1e-3): the identity of a model."""
    parts = [extra, *[str(site.specie) for site in structures[0]]]
    for s in structures:
        parts.append(np.round(s.lattice.matrix, 3).tobytes().hex())
        parts.append(np.round(s.frac_coords % 1.0, 3).tobytes().hex())
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
