"""AP/carbon heterointerfaces: an AP (001) slab under graphene or under a lying CNT.

Every site carries ``region`` ("AP" or "carbon") so that charge transfer can be summed per
side later. Lattice matching is pymatgen's Zur-McGill (ZSL) search; the carbon side takes
the strain by default (``strain_on="carbon"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pymatgen.analysis.interfaces.zsl import ZSLGenerator, ZSLMatch
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.carbon import build_cnt, build_graphene, cnt_diameter
from ionflow.inputs.checks import assert_no_close_atoms
from ionflow.inputs.errors import InputError
from ionflow.inputs.polarity import Polarity, region_polarity, slab_polarity

Termination = Literal["LiCl", "Li2OH"]
REGION = "region"
BULK_SITE = "bulk_site"
"""Site label of a slab's AP sites: the index of the site of the bulk cell it copies (the
cell the slab was cut from, :func:`ionflow.workflows.demo.bulk_in_plane_cell`); -1 elsewhere.
A hop in the slab and the same hop in bulk share these labels (like for like)."""


@dataclass
class InterfaceModel:
    """A heterointerface and what was done to build it."""

    structure: Structure
    termination: Termination
    strain: dict
    """Strain applied to make the lattices coherent: ``{"side": ..., "eps_xx": ..., ...}``."""
    info: dict
    polarity: Polarity | None = None
    """The AP slab's planes, formal charges and dipole (also in ``info["polarity"]``)."""


def _plane_heights(bulk: Structure) -> tuple[np.ndarray, list[int]]:
    """Fractional c of each site, H taking the height of its O; and the O site indices."""
    frac_c = bulk.frac_coords[:, 2] % 1.0
    oxygens = [i for i, s in enumerate(bulk) if s.specie.symbol == "O"]
    for i, site in enumerate(bulk):
        if site.specie.symbol == "H":
            dists = [bulk.get_distance(i, o) for o in oxygens]
            frac_c[i] = frac_c[oxygens[int(np.argmin(dists))]]
    return frac_c, oxygens


def ap_slab(
    bulk: Structure, repeats: int = 1, termination: Termination = "LiCl", vacuum: float = 15.0
) -> Structure:
    """Cut a stoichiometric (001) slab of ``repeats`` bulk cells from an ordered AP bulk.

    The bulk is an orthorhombic anti-perovskite cell with halide planes at c = k/n and
    O(H) planes at c = (k + 1/2)/n (as built by :mod:`ionflow.inputs.antiperovskite`).
    The cut falls half-way between a halide plane and an O plane, each H staying with its
    O, so the slab is whole cells: neutral and of the bulk composition. ``termination``
    is the top plane, the one that faces the carbon: "LiCl" (halide + Li) or "Li2OH".
    """
    if termination not in ("LiCl", "Li2OH"):
        raise InputError("--termination", f"unknown termination {termination!r}", "use LiCl or Li2OH")
    if repeats < 1:
        raise InputError("--layers", f"{repeats} cells is not a slab", "give at least one bulk cell")
    n_layers = round(sum(s.specie.symbol == "O" for s in bulk) / _in_plane_fu(bulk))
    frac_c, _ = _plane_heights(bulk)
    quarter = 0.25 / n_layers
    cut = quarter if termination == "LiCl" else 3 * quarter
    shifted = (frac_c - cut) % 1.0  # 0 at the cut, all planes in (0, 1)
    offsets = shifted - frac_c  # what each site moves along c
    if not np.allclose(bulk.lattice.matrix[2, :2], 0):
        raise RuntimeError("AP cell is not layered along z")
    c_len = bulk.lattice.c
    thickness = repeats * c_len
    new_c = thickness + vacuum
    matrix = bulk.lattice.matrix.copy()
    matrix[2] = [0.0, 0.0, new_c]
    lattice = Lattice(matrix)
    species, coords, props, labels = [], [], [], []
    for rep in range(repeats):
        for i, site in enumerate(bulk):
            cart = site.coords + (offsets[i] + rep) * bulk.lattice.matrix[2]
            species.append(site.specie)
            coords.append(cart)
            props.append("AP")
            labels.append(i)
    properties = {REGION: props, BULK_SITE: labels}
    slab = Structure(lattice, species, coords, coords_are_cartesian=True, site_properties=properties)
    return slab


AXES = "abc"


def stacked_along(bulk: Structure, axis: str) -> Structure:
    """The orthorhombic AP bulk with its ``axis`` ("a", "b" or "c") turned to c, by a cyclic
    permutation of the axes (the cell stays right-handed)."""
    order = [(k + AXES.index(axis) + 1) % 3 for k in range(3)]  # a: (b, c, a); b: (c, a, b)
    lengths = np.array(bulk.lattice.abc)[order]
    lattice = Lattice.orthorhombic(*lengths)
    return Structure(lattice, bulk.species, bulk.frac_coords[:, order], site_properties=bulk.site_properties)


def bulk_in_plane_cell(ap_bulk: Structure, interface: InterfaceModel) -> Structure:
    """Bulk AP in the interface's in-plane periodicity, stacked along the slab's bulk axis."""
    m = interface.info["ap_in_plane_supercell"]
    axis = interface.info.get("stacking_axis", "c")  # the bulk axis the slab was stacked along
    bulk = ap_bulk.copy() if axis == "c" else stacked_along(ap_bulk, axis)
    bulk.make_supercell([[*m[0], 0], [*m[1], 0], [0, 0, 1]])
    return bulk


def non_polar_stacking(bulk: Structure, termination: Termination) -> tuple[Structure, str, Polarity]:
    """The bulk turned so that its (001) slab with ``termination`` is non-polar, where one of
    its three axes gives that: the vacancies' planes decide which (001) planes are charged.
    The as-built axis c is kept when it is non-polar; otherwise a, then b; when none is, c and
    its polarity (the caller reports it)."""
    first = None
    for axis in ("c", "a", "b"):
        turned = bulk if axis == "c" else stacked_along(bulk, axis)
        polarity = slab_polarity(ap_slab(turned, 1, termination, vacuum=10.0), "AP slab")
        if not polarity.polar:
            return turned, axis, polarity
        first = first or (turned, axis, polarity)
    return first


def _stacking(bulk: Structure, termination: Termination, non_polar: bool) -> tuple[Structure, str]:
    if not non_polar:
        return bulk, "c"
    turned, axis, _ = non_polar_stacking(bulk, termination)
    return turned, axis


def with_polarity(model: InterfaceModel, axis: str) -> InterfaceModel:
    """The model with its AP slab's polarity, and the bulk axis the slab is stacked along."""
    model.polarity = region_polarity(model.structure, "AP", "interface")
    model.info["stacking_axis"] = axis
    model.info["polarity"] = model.polarity.as_dict()
    return model


def _labels(slab: Structure, region: list[str]) -> dict[str, list]:
    """An interface's site properties: each site's region, and the slab's sites' bulk sites
    (carbon after them: -1)."""
    return {REGION: region, BULK_SITE: slab.site_properties[BULK_SITE] + [-1] * (len(region) - len(slab))}


def _in_plane_fu(bulk: Structure) -> int:
    """Formula units per O plane of an orthorhombic AP cell (in-plane repeats a x b)."""
    heights = {
        round(c, 3) for c, s in zip(bulk.frac_coords[:, 2] % 1, bulk, strict=True) if s.specie.symbol == "O"
    }
    return round(sum(s.specie.symbol == "O" for s in bulk) / len(heights))


def _top_z(structure: Structure) -> float:
    return float(structure.cart_coords[:, 2].max())


def _strain_2d(original: np.ndarray, strained: np.ndarray) -> dict:
    """Green-Lagrange strain of in-plane vectors ``original`` (2x2) deformed to ``strained``."""
    f = np.linalg.solve(original, strained).T  # strained_i = F @ original_i
    e = 0.5 * (f.T @ f - np.eye(2))
    principal = np.linalg.eigvalsh(e)
    return {
        "eps_xx": float(e[0, 0]),
        "eps_yy": float(e[1, 1]),
        "eps_xy": float(e[0, 1]),
        "max_abs_principal": float(np.abs(principal).max()),
    }


def _best_match(
    film_vectors: np.ndarray, substrate_vectors: np.ndarray, max_strain: float, max_area: float
) -> ZSLMatch:
    zsl = ZSLGenerator(
        max_area_ratio_tol=max(0.09, 2 * max_strain),
        max_area=max_area,
        max_length_tol=max_strain,
        max_angle_tol=0.01,
    )
    best: tuple[float, float, ZSLMatch] | None = None
    for match in zsl(film_vectors, substrate_vectors):
        strain = _strain_2d(
            np.asarray(match.film_sl_vectors)[:, :2], np.asarray(match.substrate_sl_vectors)[:, :2]
        )
        if strain["max_abs_principal"] > max_strain:
            continue
        key = (round(match.match_area, 3), strain["max_abs_principal"])
        if best is None or key < best[:2]:
            best = (*key, match)
    if best is None:
        raise InputError(
            "--max-strain/--max-area",
            f"no graphene/AP supercell match within strain {max_strain:.3f} and area {max_area:g} Å²",
            "raise --max-strain (e.g. 0.05-0.08) or --max-area",
        )
    return best[2]


def _integer_matrix(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    m = np.linalg.solve(basis.T, vectors.T).T
    rounded = np.round(m)
    if not np.allclose(m, rounded, atol=1e-4):
        raise RuntimeError("ZSL supercell vectors are not integer combinations of the lattice")
    return rounded.astype(int)


def build_ap_graphene_interface(
    ap_bulk: Structure,
    termination: Termination = "LiCl",
    repeats: int = 1,
    gap: float = 3.0,
    vacuum: float = 15.0,
    max_strain: float = 0.05,
    max_area: float = 150.0,
    strain_on: Literal["carbon", "AP"] = "carbon",
    miller: tuple[int, int, int] = (0, 0, 1),
    non_polar: bool = True,
) -> InterfaceModel:
    """AP (001) slab with a graphene sheet on its ``termination`` face.

    Parameters
    ----------
    ap_bulk
        Ordered AP bulk cell (orthorhombic, c along [001]).
    termination
        Top AP plane facing the graphene: "LiCl" or "Li2OH".
    repeats
        Bulk cells along c in the slab.
    gap
        Distance (Å) between the topmost AP atom and the graphene plane.
    vacuum
        Vacuum (Å) above the graphene.
    max_strain, max_area
        ZSL limits: largest principal strain (fraction) and largest interface area (Å²).
    strain_on
        Which side is strained to the other's lattice.
    miller
        Only {001} is supported: the AP (001) planes are the LiCl / Li2OH planes.
    non_polar
        Stack the slab along the bulk axis that makes it non-polar, where one does
        (:func:`non_polar_stacking`); False keeps the bulk's c, polar or not.

    The AP slab's polarity (planes, formal charges, dipole, Tasker type) is on the model and
    in its ``info``.
    """
    if sorted(abs(i) for i in miller) != [0, 0, 1]:
        raise InputError(
            "--miller", f"{miller} is not supported", "use 0,0,1 (the LiCl/Li2OH-terminated AP face)"
        )
    if gap <= 0.5:
        raise InputError(
            "--gap", f"gap {gap} Å would put carbon on top of AP atoms", "use a gap of about 2.5-3.5 Å"
        )
    ap_bulk, axis = _stacking(ap_bulk, termination, non_polar)
    graphene = AseAtomsAdaptor.get_structure(build_graphene())
    ap_vec = ap_bulk.lattice.matrix[:2, :2]
    gr_vec = graphene.lattice.matrix[:2, :2]
    match = _best_match(graphene.lattice.matrix[:2], ap_bulk.lattice.matrix[:2], max_strain, max_area)
    film_sl = np.asarray(match.film_sl_vectors)[:, :2]
    sub_sl = np.asarray(match.substrate_sl_vectors)[:, :2]
    m_ap = _integer_matrix(sub_sl, ap_vec)
    m_gr = _integer_matrix(film_sl, gr_vec)
    # the AP supercell with right-handed in-plane vectors
    if np.linalg.det(m_ap) < 0:
        m_ap, m_gr = m_ap[::-1], m_gr[::-1]
    ap_super = ap_bulk.copy()
    ap_super.make_supercell([[*m_ap[0], 0], [*m_ap[1], 0], [0, 0, 1]])
    slab = ap_slab(ap_super, repeats, termination, vacuum=0.0)
    gr_super = graphene.copy()
    gr_super.make_supercell([[*m_gr[0], 0], [*m_gr[1], 0], [0, 0, 1]])

    target_xy = slab.lattice.matrix[:2, :2]
    carbon_xy = gr_super.lattice.matrix[:2, :2]
    if strain_on == "carbon":
        strain = _strain_2d(carbon_xy, target_xy)
        in_plane = target_xy
    else:
        strain = _strain_2d(target_xy, carbon_xy)
        in_plane = carbon_xy
    z_top = _top_z(slab)
    c_len = z_top + gap + vacuum
    matrix = np.zeros((3, 3))
    matrix[:2, :2] = in_plane
    matrix[2, 2] = c_len
    lattice = Lattice(matrix)
    species, frac, region = [], [], []
    for site in slab:
        f = site.frac_coords.copy()
        frac.append([f[0], f[1], site.coords[2] / c_len])
        species.append(site.specie)
        region.append("AP")
    for site in gr_super:
        frac.append([site.frac_coords[0], site.frac_coords[1], (z_top + gap) / c_len])
        species.append(site.specie)
        region.append("carbon")
    structure = Structure(lattice, species, frac, site_properties=_labels(slab, region))
    # put the slab a little above the cell bottom so nothing wraps
    structure.translate_sites(list(range(len(structure))), [0, 0, 0.5 * vacuum / c_len / 2], frac_coords=True)
    assert_no_close_atoms(structure, "interface")
    info = {
        "kind": "AP/graphene",
        "miller": list(miller),
        "termination": termination,
        "ap_in_plane_supercell": m_ap.tolist(),
        "graphene_in_plane_supercell": m_gr.tolist(),
        "area": float(abs(np.linalg.det(in_plane))),
        "gap": gap,
        "vacuum": vacuum,
        "slab_cells": repeats,
    }
    return with_polarity(InterfaceModel(structure, termination, {"side": strain_on, **strain}, info), axis)


def build_cnt_on_ap(
    ap_bulk: Structure,
    chirality: tuple[int, int] = (6, 6),
    termination: Termination = "LiCl",
    repeats: int = 1,
    gap: float = 3.0,
    vacuum: float = 12.0,
    clearance: float = 4.0,
    max_strain: float = 0.05,
    max_length: float = 25.0,
    non_polar: bool = True,
) -> InterfaceModel:
    """A periodic CNT lying along x on an AP (001) slab; the tube takes the axial strain.

    The cell is periodic along the tube axis (x) and across it (y, with ``clearance`` Å
    between periodic images of the tube); the tube sits ``gap`` Å above the top AP atom.
    ``non_polar`` and the polarity on the model: as :func:`build_ap_graphene_interface`.
    """
    ap_bulk, axis = _stacking(ap_bulk, termination, non_polar)
    n, m = chirality
    tube = build_cnt(n, m, length=1)
    period = float(tube.cell.lengths()[2])
    a_x = ap_bulk.lattice.a
    best = None
    for q in range(1, int(max_length // a_x) + 1):
        p = max(1, round(q * a_x / period))
        eps = q * a_x / (p * period) - 1.0
        if abs(eps) <= max_strain and (best is None or abs(eps) < abs(best[2]) - 1e-9):
            best = (p, q, eps)
    if best is None:
        raise InputError(
            "--max-strain/--max-length",
            f"no CNT ({n},{m}) period matches the AP cell within strain {max_strain} "
            f"and length {max_length} Å",
            "raise --max-strain or --max-length, or pick another chirality",
        )
    p, q, eps = best
    diameter = cnt_diameter(n, m)
    n_y = max(1, math.ceil((diameter + clearance) / ap_bulk.lattice.b))
    ap_super = ap_bulk.copy()
    ap_super.make_supercell([q, n_y, 1])
    slab = ap_slab(ap_super, repeats, termination, vacuum=0.0)
    tube = build_cnt(n, m, length=p)
    pos = tube.positions - tube.positions.mean(axis=0)
    axial = (pos[:, 2] - pos[:, 2].min()) * (1.0 + eps)
    z_top = _top_z(slab)
    z_axis = z_top + gap + diameter / 2
    c_len = z_axis + diameter / 2 + vacuum
    lattice = Lattice.orthorhombic(slab.lattice.a, slab.lattice.b, c_len)
    coords = [s.coords for s in slab]
    species = [s.specie for s in slab]
    region = ["AP"] * len(slab)
    y_mid = slab.lattice.b / 2
    for k in range(len(tube)):
        coords.append([axial[k], y_mid + pos[k, 1], z_axis + pos[k, 0]])
        species.append("C")
        region.append("carbon")
    structure = Structure(
        lattice, species, coords, coords_are_cartesian=True, site_properties=_labels(slab, region)
    )
    structure.translate_sites(list(range(len(structure))), [0, 0, 0.25 * vacuum / c_len], frac_coords=True)
    assert_no_close_atoms(structure, "interface")
    info = {
        "kind": "CNT/AP",
        "chirality": [n, m],
        "cnt_diameter": diameter,
        "termination": termination,
        "tube_cells": p,
        "ap_cells_along_axis": q,
        "ap_cells_across": n_y,
        "ap_in_plane_supercell": [[q, 0], [0, n_y]],
        "gap": gap,
        "vacuum": vacuum,
        "slab_cells": repeats,
    }
    strain = {"side": "carbon", "eps_xx": eps, "eps_yy": 0.0, "eps_xy": 0.0, "max_abs_principal": abs(eps)}
    return with_polarity(InterfaceModel(structure, termination, strain, info), axis)
