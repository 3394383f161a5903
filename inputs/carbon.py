"""Carbon models: single-wall carbon nanotubes and graphene (ASE builders), and the shape of
the carbon in a built interface (a sheet or a tube lying on the slab)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.build import graphene as ase_graphene
from ase.build import nanotube as ase_nanotube
from ase.neighborlist import natural_cutoffs, neighbor_list
from pymatgen.core import Structure

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


SHEET_THICKNESS = 1.5
"""Å: carbon thicker than this along the normal is a tube, not a sheet (a relaxed graphene
sheet buckles by tenths of an Å; the thinnest tube the builder makes is 4 Å across)."""
FACING_LAYER = 0.5
"""Å: carbon atoms this close to the lowest one form the layer that faces the slab."""


@dataclass
class CarbonGeometry:
    """Where the carbon is, along the normal and (for a tube) across it."""

    kind: str
    """``sheet`` or ``tube``."""
    z_facing: float
    """Mean height of the carbon layer facing the slab (Å): the sheet, or the tube's lower wall."""
    z_top: float
    """Height of the highest carbon atom (Å)."""
    tube_axis: int | None = None
    """The lattice direction the tube runs along (periodic); None for a sheet."""
    across: float | None = None
    """Fractional coordinate of the tube axis along the other in-plane direction."""


def _largest_gap(fractions: np.ndarray) -> tuple[float, float]:
    """The largest empty interval between periodic fractional coordinates: (width, centre of
    the occupied rest)."""
    f = np.sort(fractions % 1.0)
    gaps = np.diff(np.concatenate([f, [f[0] + 1.0]]))
    k = int(np.argmax(gaps))
    # the occupied span runs from f[k+1] round to f[k]; its middle sits opposite the gap's
    return float(gaps[k]), float((f[k] + 0.5 * gaps[k] + 0.5) % 1.0)


def carbon_geometry(structure: Structure, regions: list[str], axis: int = 2) -> CarbonGeometry:
    """A sheet or a tube (thicker than :data:`SHEET_THICKNESS` along ``axis``); a tube's axis
    is the in-plane direction its atoms fill, ``across`` the middle of the other one."""
    carbon = np.array([r == "carbon" for r in regions])
    length = structure.lattice.abc[axis]
    z = structure.cart_coords[carbon, axis] % length
    facing = float(z[z < z.min() + FACING_LAYER].mean())
    if z.max() - z.min() <= SHEET_THICKNESS:
        return CarbonGeometry("sheet", facing, float(z.max()))
    in_plane = [i for i in range(3) if i != axis]
    frac = structure.frac_coords[carbon]
    gaps = {i: _largest_gap(frac[:, i]) for i in in_plane}
    across_dir = max(in_plane, key=lambda i: gaps[i][0])
    tube_axis = next(i for i in in_plane if i != across_dir)
    return CarbonGeometry("tube", facing, float(z.max()), tube_axis, gaps[across_dir][1])


def distance_to_carbon(structure: Structure, indices: list[int], regions: list[str]) -> np.ndarray:
    """Each site's (``indices``) shortest periodic distance to a carbon atom (Å)."""
    carbon = [i for i, r in enumerate(regions) if r == "carbon"]
    frac = structure.frac_coords
    return structure.lattice.get_all_distances(frac[indices], frac[carbon]).min(axis=1)
