"""Rank candidate site orderings by a cheap energy and keep the symmetry-distinct ones.

Candidates come from the builders (exhaustive or seeded random). Symmetry-equivalent
orderings have the same Ewald energy, so candidates are bucketed by energy first and
pymatgen's :class:`StructureMatcher` only compares structures inside a bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

RankBy = Literal["ewald", "chgnet"]
ENERGY_TIE = 1e-5
"""eV/atom: orderings this close in energy are ranked by symmetry and then by their given order."""


@dataclass
class RankedOrdering:
    """One symmetry-distinct ordering with its ranking energy.

    Attributes
    ----------
    structure
        The ordered structure.
    energy_per_atom
        Ranking energy in eV/atom (Ewald point-charge energy or the embedded engine's energy).
    multiplicity
        How many of the generated candidates were symmetry-equivalent to this one.
    labels
        Builder-specific description of the ordering (vacancy, Br and Cu site indices).
    """

    structure: Structure
    energy_per_atom: float
    multiplicity: int = 1
    labels: dict = field(default_factory=dict)


def ewald_energy_per_atom(structure: Structure, oxidation_states: Mapping[str, float]) -> float:
    """Ewald energy per atom (eV) of ``structure`` with formal point charges."""
    charged = structure.copy()
    charged.add_oxidation_state_by_element(dict(oxidation_states))
    return EwaldSummation(charged).total_energy / len(structure)


def chgnet_energy_per_atom(structures: Sequence[Structure]) -> list[float]:
    """Single-point energies per atom (eV) from CHGNet, the embedded engine's potential."""
    from chgnet.model import CHGNet  # heavy import, only when asked for

    model = CHGNet.load(verbose=False)
    preds = model.predict_structure(list(structures), task="e", batch_size=8)
    if isinstance(preds, dict):  # chgnet returns a bare dict for a single structure
        preds = [preds]
    return [float(p["e"]) for p in preds]


def rank_orderings(
    candidates: Sequence[Structure],
    labels: Sequence[dict],
    oxidation_states: Mapping[str, float],
    rank_by: RankBy = "ewald",
    keep: int = 5,
) -> list[RankedOrdering]:
    """Deduplicate candidates by symmetry and rank them by energy, lowest first.

    Parameters
    ----------
    candidates
        Ordered structures sharing one lattice and composition.
    labels
        One label dict per candidate, carried to the result.
    oxidation_states
        Formal charges per element for the Ewald energy (also used to bucket candidates).
    rank_by
        ``"ewald"`` ranks by point-charge electrostatics; ``"chgnet"`` re-ranks the
        distinct orderings with the embedded machine-learned potential.
    keep
        Number of orderings returned.
    """
    energies = [ewald_energy_per_atom(s, oxidation_states) for s in candidates]
    # candidates within ENERGY_TIE of each other are compared by symmetry; a group is represented
    # by its first candidate in the given order, and ties rank by that order too: a threaded
    # BLAS sums in any order, and symmetry-equivalent candidates, equal to the last digits,
    # otherwise came out in another order (another Cu site, another hop) from run to run
    buckets: list[list[int]] = []
    for idx in sorted(range(len(candidates)), key=lambda i: energies[i]):
        if buckets and energies[idx] - energies[buckets[-1][0]] < ENERGY_TIE:
            buckets[-1].append(idx)
        else:
            buckets.append([idx])
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    distinct: list[tuple[int, RankedOrdering]] = []
    for members in buckets:
        members.sort()
        groups = matcher.group_structures([candidates[i] for i in members])
        for group in groups:
            first = min(i for i in members if any(candidates[i] is g for g in group))
            ordering = RankedOrdering(
                structure=candidates[first],
                energy_per_atom=energies[first],
                multiplicity=len(group),
                labels=dict(labels[first]),
            )
            distinct.append((first, ordering))
    if rank_by == "chgnet":
        for (_, ordering), energy in zip(
            distinct, chgnet_energy_per_atom([o.structure for _, o in distinct]), strict=True
        ):
            ordering.energy_per_atom = energy
    distinct.sort(
        key=lambda item: (round(item[1].energy_per_atom / ENERGY_TIE), -item[1].multiplicity, item[0])
    )
    return [ordering for _, ordering in distinct][:keep]


def n_combinations(*counts: tuple[int, int]) -> int:
    """Product of binomial coefficients ``C(n, k)`` for each ``(n, k)``."""
    return math.prod(math.comb(n, k) for n, k in counts)
