"""Polarity of a slab: formal charge of each atomic plane and the stack's dipole (Tasker type).

An ionic slab cut from a crystal is polar (Tasker type III) when its stack of charged planes
carries a dipole normal to the surface: the potential then ramps across the slab, and in an
interface the carbon's Bader charge and the field compensate that dipole instead of showing
the contact's chemistry. Which (001) planes of the anti-perovskite are charged depends on
where its Li vacancies sit: with each vacancy in an O plane every plane is neutral (type I);
with vacancies in the halide planes the planes alternate -q/+q and a stack of whole cells is
polar. Tasker, J. Phys. C 12, 4977 (1979); Noguera, J. Phys.: Condens. Matter 12, R367 (2000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from pymatgen.core import Composition, Structure

from ionflow.inputs.checks import vacuum_gap
from ionflow.inputs.errors import InputError

FORMAL_CHARGES: dict[str, int] = {
    "H": 1,
    "Li": 1,
    "Na": 1,
    "K": 1,
    "Cu": 1,
    "Ag": 1,
    "O": -2,
    "S": -2,
    "F": -1,
    "Cl": -1,
    "Br": -1,
    "I": -1,
    "P": 5,
    "C": 0,
}
"""Formal ionic charges (e) of the elements in ionflow's models (Cu+ and P5+ as in the dual-ion
argyrodites; graphene and CNT carbon neutral)."""

PLANE_TOLERANCE = 0.6
"""Å: atoms closer than this along the normal belong to one plane (buckled planes included)."""

POLAR_DIPOLE = 0.01
"""e/Å: a stack dipole per area above this is polar; it would ramp the potential by 1.8 V
across the slab (the dipole over ε0), far above a contact's own interface dipole."""

POLAR_STACK = "polar stack"
"""What a result computed on a polar stack (on the user's explicit request) says of itself."""

Tasker = Literal["I", "II", "III"]
EPSILON_0_V = 180.9512
"""V per (e/Å): the potential step of a dipole sheet of 1 e/Å, e / (ε0 · 1 Å)."""


@dataclass
class AtomicPlane:
    """One plane of the stack: its height (Å), its atoms and their formal charge (e per cell)."""

    height: float
    formula: str
    charge: float


@dataclass
class Polarity:
    """The stack's planes bottom to top, its dipole per area and its Tasker type."""

    planes: list[AtomicPlane]
    dipole_per_area: float
    """e/Å: Σ plane charge × height over the cell's area, heights from the slab's middle."""
    potential_step: float
    """V: the step the dipole makes across the slab (dipole per area / ε0)."""
    net_charge: float
    tasker: Tasker

    @property
    def polar(self) -> bool:
        """Type III: the stack carries a dipole (or the slab is not neutral)."""
        return self.tasker == "III"

    def stack(self, separator: str = " | ") -> str:
        """The planes bottom to top with their formal charges, e.g. ``Cl2 -2 | Li4H2O2 +2``."""
        return separator.join(f"{p.formula} {p.charge:+g}" for p in self.planes)

    def as_dict(self) -> dict:
        """JSON-able, for summary.json and the model's info."""
        return {**asdict(self), "polar": self.polar}


def formal_charge(element: str, source: str) -> int:
    """The formal charge of ``element``; an element outside the table is an InputError."""
    if element not in FORMAL_CHARGES:
        raise InputError(
            source, f"no formal charge known for {element}", "add it to inputs/polarity.py FORMAL_CHARGES"
        )
    return FORMAL_CHARGES[element]


def plane_heights(structure: Structure) -> np.ndarray:
    """Cartesian height of each site along the normal, the slab made contiguous across the
    periodic boundary (cut in the widest gap, the vacuum); each H takes its nearest neighbour's
    height (the OH group is one unit of its plane)."""
    c = structure.lattice.c
    _, bottom = vacuum_gap(structure)
    z = np.mod(np.mod(structure.frac_coords[:, 2], 1.0) * c - bottom, c)
    heavy = [i for i, site in enumerate(structure) if site.specie.symbol != "H"]
    for i, site in enumerate(structure):
        if site.specie.symbol == "H" and heavy:
            nearest = min(heavy, key=lambda j: structure.get_distance(i, j))
            z[i] = z[nearest]
    return z


def slab_polarity(structure: Structure, source: str = "slab") -> Polarity:
    """Planes, formal charges and dipole of a slab (pass an interface's AP sites only)."""
    if len(structure) == 0:
        raise InputError(source, "holds no atoms", "give the slab's atoms")
    z = plane_heights(structure)
    charges = np.array([formal_charge(site.specie.symbol, source) for site in structure], dtype=float)
    order = np.argsort(z, kind="stable")
    groups: list[list[int]] = [[int(order[0])]]
    for i in order[1:]:
        if z[i] - z[groups[-1][-1]] > PLANE_TOLERANCE:
            groups.append([])
        groups[-1].append(int(i))
    middle = 0.5 * (z.min() + z.max())
    planes = []
    for group in groups:
        composition = Composition("".join(structure[i].specie.symbol for i in group))
        planes.append(
            AtomicPlane(
                height=round(float(z[group].mean() - middle), 4),
                formula=composition.formula.replace(" ", ""),
                charge=float(charges[group].sum()),
            )
        )
    area = float(np.linalg.norm(np.cross(structure.lattice.matrix[0], structure.lattice.matrix[1])))
    dipole = float(sum(p.charge * p.height for p in planes) / area)
    net = float(charges.sum())
    if all(abs(p.charge) < 1e-9 for p in planes):
        tasker: Tasker = "I"
    elif abs(dipole) <= POLAR_DIPOLE and abs(net) < 1e-9:
        tasker = "II"
    else:
        tasker = "III"
    return Polarity(planes, dipole, dipole * EPSILON_0_V, net, tasker)


def region_polarity(structure: Structure, region: str = "AP", source: str = "interface") -> Polarity:
    """:func:`slab_polarity` of the sites labelled ``region`` (the AP slab of an interface)."""
    labels = structure.site_properties.get("region")
    if labels is None:
        raise InputError(source, "has no 'region' labels", "build it with ionflow build interface")
    keep = [i for i, label in enumerate(labels) if label == region]
    if not keep:
        raise InputError(source, f"has no {region} atoms", "build it with ionflow build interface")
    sub = Structure.from_sites([structure[i] for i in keep])
    return slab_polarity(sub, source)


__all__ = [
    "FORMAL_CHARGES",
    "POLAR_DIPOLE",
    "POLAR_STACK",
    "AtomicPlane",
    "Polarity",
    "formal_charge",
    "plane_heights",
    "region_polarity",
    "slab_polarity",
]
