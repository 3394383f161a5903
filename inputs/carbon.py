"""Carbon models: single-wall carbon nanotubes and graphene (ASE builders)."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import graphene as ase_graphene
from ase.build import nanotube as ase_nanotube
from ase.neighborlist import natural_cutoffs, neighbor_list

from ionflow.inputs.errors import InputError

CC_BOND = 1.42
"""C-C bond length in graphene and CNTs (Å)."""
CH_BOND = 1.09
"""C-H bond length used for terminating dangling bonds (Å)."""


def build_cnt(
    n: int,
    m: int,
    length: int = 1,
    vacuum: float = 8.0,
    periodic: bool = True,
    h_terminate: bool = False,
) -> Atoms:
    """Single-wall carbon nanotube of chirality ``(n, m)`` along z.

    Parameters
    ----------
    n, m
        Chiral indices, ``n >= m >= 0`` and ``n > 0``.
    length
        Number of translational unit cells along the tube axis.
    vacuum
        Vacuum (Å) around the tube in x and y (and at the ends of a finite tube).
    periodic
        Periodic along the axis (an infinite tube) when True; a finite tube otherwise.
    h_terminate
        Saturate the dangling bonds of a finite tube's rims with H. An infinite tube has none.
    """
    if n <= 0 or m < 0 or m > n:
        raise InputError(
            "--chirality", f"({n}, {m}) is not a valid chirality", "give n >= m >= 0 with n > 0, e.g. 6,6"
        )
    if length < 1:
        raise InputError(
            "--length", f"length {length} is not a positive number of unit cells", "give length >= 1"
        )
    tube = ase_nanotube(n, m, length=length, bond=CC_BOND, vacuum=vacuum)
    if not periodic:
        tube.pbc = False
        tube.center(vacuum=vacuum, axis=2)
        if h_terminate:
            tube = terminate_with_hydrogen(tube)
    elif h_terminate:
        raise InputError(
            "--h-terminate", "a periodic tube has no dangling bonds", "add --finite to build a finite tube"
        )
    tube.info["chirality"] = (n, m)
    return tube


def cnt_diameter(n: int, m: int) -> float:
    """Diameter (Å) of an ``(n, m)`` tube: ``a sqrt(n^2 + nm + m^2) / pi``."""
    a = CC_BOND * np.sqrt(3.0)
    return float(a * np.sqrt(n * n + n * m + m * m) / np.pi)


def build_graphene(size: tuple[int, int] = (1, 1), vacuum: float = 10.0) -> Atoms:
    """Graphene sheet in the xy plane, ``size`` repeats of the two-atom cell, vacuum along z.

    Graphene is the unrolled, infinite-radius limit of a nanotube.
    """
    if min(size) < 1:
        raise InputError("--size", f"{size} has a non-positive repeat", "give two integers >= 1")
    sheet = ase_graphene(
        formula="C2", a=CC_BOND * np.sqrt(3.0), thickness=0.0, size=(*size, 1), vacuum=vacuum / 2
    )
    sheet.pbc = True
    return sheet


def terminate_with_hydrogen(atoms: Atoms) -> Atoms:
    """Add one H to every C with fewer than three C neighbours, pointing away from them."""
    i_idx, _j_idx, d_vec = neighbor_list("ijD", atoms, natural_cutoffs(atoms, mult=1.1))
    out = atoms.copy()
    for i in range(len(atoms)):
        bonds = d_vec[i_idx == i]
        if atoms[i].symbol != "C" or len(bonds) >= 3:
            continue
        outward = -bonds.sum(axis=0)
        if np.linalg.norm(outward) < 1e-6:
            continue
        out.append("H")
        out.positions[-1] = atoms.positions[i] + CH_BOND * outward / np.linalg.norm(outward)
    return out
