"""Anti-perovskite Li2OH(Cl1-xBrx) bulk models.

The frame is the cubic anti-perovskite: O at the cell centre, the halide at the corner and
Li on the three face centres. In Li2OHCl one of those three Li sites per formula unit is
vacant and each O carries one H; the O-H bond points at a vacant Li site of that O (the
proton avoids its Li+ neighbours). An ordering is the choice of vacant Li sites, of the
halide sites holding Br, and of the O-H directions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import yaml
from pymatgen.core import Lattice, Structure

from ionflow.inputs.errors import InputError
from ionflow.inputs.orderings import RankBy, RankedOrdering, n_combinations, rank_orderings


@cache
def ap_data() -> dict:
    """Reference data for the anti-perovskite end members (bundled YAML)."""
    return yaml.safe_load(files("ionflow.inputs").joinpath("data/antiperovskite.yaml").read_text())


def vegard_lattice_parameter(x_br: float) -> float:
    """Cubic lattice parameter (Å) of Li2OH(Cl1-xBrx) from Vegard's law."""
    a = ap_data()["lattice_parameter"]
    return (1.0 - x_br) * a["Li2OHCl"] + x_br * a["Li2OHBr"]


@dataclass(frozen=True)
class APFrame:
    """Site inventory of a cubic anti-perovskite supercell (fractional coordinates)."""

    lattice: Lattice
    oxygen: np.ndarray  # (n, 3) body centres
    halide: np.ndarray  # (n, 3) corners
    lithium: np.ndarray  # (3n, 3) face centres
    li_neighbours: tuple[tuple[tuple[int, np.ndarray], ...], ...]
    """Per O: its six Li directions as (Li index, fractional vector O -> Li). In a cell one
    repeat thick, two opposite directions reach the same Li site; both are kept."""


def ap_frame(a: float, supercell: tuple[int, int, int]) -> APFrame:
    """Build the site inventory of an ``supercell`` repeat of the cubic frame with edge ``a``."""
    n1, n2, n3 = supercell
    size = np.array(supercell, dtype=float)
    cells = np.array(list(itertools.product(range(n1), range(n2), range(n3))), dtype=float)
    oxygen = (cells + 0.5) / size
    halide = cells / size
    faces = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
    lithium = np.concatenate([(cells + f) / size for f in faces])
    steps = np.concatenate([np.eye(3), -np.eye(3)]) * 0.5 / size  # six O -> Li directions
    neighbours = []
    for o in oxygen:
        pairs = []
        for d in steps:
            delta = lithium - (o + d)
            delta -= np.round(delta)
            pairs.append((int(np.argmin(np.linalg.norm(delta, axis=1))), d))
        neighbours.append(tuple(pairs))
    lattice = Lattice.orthorhombic(a * n1, a * n2, a * n3)
    return APFrame(lattice, oxygen, halide, lithium, tuple(neighbours))


def _ap_structure(
    frame: APFrame, vacancies: tuple[int, ...], bromides: tuple[int, ...], h_dirs: tuple[int, ...]
) -> Structure:
    """Structure for one ordering; ``h_dirs[i]`` is the direction (0-5: +a, +b, +c, -a, -b, -c)
    of the i-th O-H bond."""
    oh = ap_data()["oh_bond_length"]
    species: list[str] = []
    coords: list[np.ndarray] = []
    vac = set(vacancies)
    for k, li in enumerate(frame.lithium):
        if k not in vac:
            species.append("Li")
            coords.append(li)
    for o in frame.oxygen:
        species.append("O")
        coords.append(o)
    lengths = np.array(frame.lattice.abc)
    for i, o in enumerate(frame.oxygen):
        vec = frame.li_neighbours[i][h_dirs[i]][1]
        unit = vec * lengths / np.linalg.norm(vec * lengths)
        species.append("H")
        coords.append(o + unit * oh / lengths)
    br = set(bromides)
    for j, x in enumerate(frame.halide):
        species.append("Br" if j in br else "Cl")
        coords.append(x)
    return Structure(frame.lattice, species, coords)


def _h_choices(frame: APFrame, vacancies: tuple[int, ...]) -> list[list[int]] | None:
    """Directions in which each O may point its H (at a vacant Li); ``None`` if some O has none."""
    vac = set(vacancies)
    choices = [[n for n, (k, _) in enumerate(nbrs) if k in vac] for nbrs in frame.li_neighbours]
    return None if any(not c for c in choices) else choices


def _exhaustive(frame: APFrame, n_br: int) -> Iterator[tuple[tuple, tuple, tuple]]:
    n_o = len(frame.oxygen)
    for vac in itertools.combinations(range(len(frame.lithium)), n_o):
        choices = _h_choices(frame, vac)
        if choices is None:
            continue
        for br in itertools.combinations(range(n_o), n_br):
            for h in itertools.product(*choices):
                yield vac, br, h


def _sampled(frame: APFrame, n_br: int, n_samples: int, seed: int) -> Iterator[tuple[tuple, tuple, tuple]]:
    rng = np.random.default_rng(seed)
    n_o = len(frame.oxygen)
    made = tries = 0
    while made < n_samples and tries < 100 * n_samples:
        tries += 1
        vac = tuple(sorted(int(v) for v in rng.choice(len(frame.lithium), n_o, replace=False)))
        choices = _h_choices(frame, vac)
        if choices is None:
            continue
        br = tuple(sorted(int(b) for b in rng.choice(n_o, n_br, replace=False)))
        h = tuple(int(rng.choice(c)) for c in choices)
        made += 1
        yield vac, br, h


def n_bromide_sites(x_br: float, supercell: tuple[int, int, int]) -> int:
    """Number of Br needed for ``x_br`` in ``supercell``; :class:`InputError` if not an integer."""
    if not 0.0 <= x_br <= 1.0:
        raise InputError("--x-br", f"x = {x_br} is outside [0, 1]", "give a Br fraction between 0 and 1")
    n_fu = int(np.prod(supercell))
    n_br = x_br * n_fu
    if abs(n_br - round(n_br)) > 1e-6:
        sizes = [
            f"{k}x{k}x{m}"
            for k, m in [(1, 1), (1, 2), (2, 1), (2, 2), (1, 4), (2, 3), (3, 3)]
            if abs(x_br * k * k * m - round(x_br * k * k * m)) < 1e-6
        ]
        nearest = round(n_br) / n_fu
        hint = f"use x = {nearest:g} in this cell" + (
            f", or a supercell such as {', '.join(sizes[:3])}" if sizes else ""
        )
        raise InputError(
            "--x-br",
            f"x = {x_br} needs {n_br:g} Br on the {n_fu} halide sites of a "
            f"{'x'.join(map(str, supercell))} supercell, not a whole number",
            hint,
        )
    return round(n_br)


def build_ap_orderings(
    x_br: float = 0.25,
    supercell: tuple[int, int, int] = (2, 2, 1),
    lattice_parameter: float | None = None,
    seed: int = 0,
    n_samples: int = 300,
    max_enumerate: int = 2000,
    keep: int = 5,
    rank_by: RankBy = "ewald",
) -> tuple[list[RankedOrdering], dict]:
    """Ordered Li2OH(Cl1-xBrx) supercells, symmetry-distinct and ranked by a cheap energy.

    Parameters
    ----------
    x_br
        Br fraction on the halide sites (0 gives Li2OHCl).
    supercell
        Repeats of the cubic frame along a, b, c.
    lattice_parameter
        Cubic edge in Å; Vegard's law between Li2OHCl and Li2OHBr when ``None``.
    seed
        Seed of the random sampler (used when the orderings are too many to enumerate).
    n_samples
        Number of random candidates when sampling.
    max_enumerate
        Enumerate all orderings when there are at most this many, else sample.
    keep
        Number of distinct orderings returned.
    rank_by
        ``"ewald"`` (point charges) or ``"chgnet"`` (embedded engine).

    Returns
    -------
    tuple
        The ranked orderings (lowest energy first) and a summary dict (method, counts, x).
    """
    if any(int(n) < 1 for n in supercell):
        raise InputError("--supercell", f"{supercell} has a non-positive repeat", "give three integers >= 1")
    n_br = n_bromide_sites(x_br, supercell)
    a = lattice_parameter if lattice_parameter is not None else vegard_lattice_parameter(x_br)
    if a <= 2.5:
        raise InputError(
            "--lattice", f"a = {a} Å is too small for an anti-perovskite", "give a in Å, about 3.9-4.1"
        )
    frame = ap_frame(a, supercell)
    n_o = len(frame.oxygen)
    upper = n_combinations((3 * n_o, n_o), (n_o, n_br)) * 6**n_o  # bound on (vac, Br, H) tuples
    if upper <= max_enumerate:
        method, generator = "exhaustive", _exhaustive(frame, n_br)
    else:
        method, generator = f"sampled (seed {seed})", _sampled(frame, n_br, n_samples, seed)
    candidates, labels = [], []
    for vac, br, h in generator:
        candidates.append(_ap_structure(frame, vac, br, h))
        labels.append(
            {
                "vacant_li_sites": list(vac),
                "br_sites": list(br),
                "oh_directions": [["+a", "+b", "+c", "-a", "-b", "-c"][d] for d in h],
            }
        )
    if not candidates:
        raise InputError(
            "--supercell",
            f"no ordering of a {'x'.join(map(str, supercell))} cell gives every O a vacant Li neighbour",
            "use a larger supercell",
        )
    ranked = rank_orderings(candidates, labels, ap_data()["oxidation_states"], rank_by, keep)
    summary = {
        "formula": ranked[0].structure.composition.reduced_formula,
        "x_br_requested": x_br,
        "x_br_realised": n_br / n_o,
        "supercell": list(supercell),
        "lattice_parameter": a,
        "lattice_source": "given" if lattice_parameter is not None else "Vegard (Li2OHCl-Li2OHBr)",
        "method": method,
        "candidates": len(candidates),
        "distinct_returned": len(ranked),
        "rank_by": rank_by,
    }
    return ranked, summary
