"""Li+/Cu+ dual-ion conductors: a host's Li partly replaced by Cu+ on the same framework.

Cu+ (0.77 Å) replaces Li+ (0.76 Å) one for one, so the cell stays charge-neutral.
Orderings of the Cu sites are enumerated or sampled (seeded) and ranked like the AP
orderings; Li+ and Cu+ carry the same formal charge, so the Ewald energy cannot tell
their orderings apart and the embedded engine (CHGNet) ranks them by default.
"""

from __future__ import annotations

import itertools
from importlib.resources import files
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure

from ionflow.inputs.antiperovskite import ap_data, build_ap_orderings
from ionflow.inputs.checks import assert_no_close_atoms
from ionflow.inputs.errors import InputError
from ionflow.inputs.orderings import RankBy, RankedOrdering, n_combinations, rank_orderings

SHANNON_RADII = {"Li": 0.76, "Cu": 0.77, "Na": 1.02, "Ag": 1.15, "K": 1.38}
"""Six-fold Shannon radii (Å) of the monovalent cations discussed for dual-ion conductors."""

OXIDATION_STATES = {**ap_data()["oxidation_states"], "P": 5, "S": -2, "I": -1, "Na": 1, "Ag": 1}


def library_hosts() -> list[str]:
    """Names of the bundled hosts: the CIFs shipped with ionflow and the AP itself."""
    cifs = files("ionflow.inputs").joinpath("data/hosts")
    return sorted([p.name.removesuffix(".cif") for p in cifs.iterdir() if p.name.endswith(".cif")] + ["AP"])


def argyrodite_24g_model(a: float = 9.85) -> Structure:
    """The idealised ordered Li6PS5Cl (F-43m; Deiseroth et al., Angew. Chem. Int. Ed. 47, 755
    (2008)): Li on 24g (x = 0.02), the centre of each pair of half-occupied 48h sites; P 4b,
    S 16e (x = 0.619) and 4c, Cl 4a (no S/Cl exchange). Its Li sit on saddles: the bundled
    ``Li6PS5Cl`` host is this model relaxed (``examples/relax_argyrodite_host.py``)."""
    return Structure.from_spacegroup(
        "F-43m",
        Lattice.cubic(a),
        ["Li", "P", "S", "S", "Cl"],
        [[0.02, 0.25, 0.25], [0, 0, 0.5], [0.119, 0.119, 0.619], [0.25, 0.25, 0.25], [0, 0, 0]],
    )


def load_host(host: str) -> Structure:
    """A host structure by library name (see :func:`library_hosts`) or from a structure file.

    ``"AP"`` is the lowest-Ewald Li2OH(Cl0.75Br0.25) ordering of a 1x1x4 cell.
    """
    if host == "AP":
        return build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1)[0][0].structure
    bundled = files("ionflow.inputs").joinpath(f"data/hosts/{host}.cif")
    if bundled.is_file():
        return Structure.from_str(bundled.read_text(), fmt="cif")
    path = Path(host)
    if not path.exists():
        raise InputError(
            host,
            "is neither a bundled host nor an existing file",
            f"give a CIF/POSCAR path or one of {', '.join(library_hosts())}",
        )
    try:
        structure = Structure.from_file(path)
    except Exception as exc:  # pymatgen raises many types for unreadable files
        raise InputError(
            str(path),
            f"cannot be read as a crystal structure ({type(exc).__name__}: {exc})".replace("\n", " "),
            "check that it is a valid CIF or POSCAR",
        ) from None
    if len(structure) == 0:
        raise InputError(str(path), "contains no atoms", "check that it is a valid CIF or POSCAR")
    if not structure.is_ordered:
        raise InputError(
            str(path),
            "has partially occupied sites",
            "give an ordered structure (order it first, e.g. with ionflow build ap)",
        )
    assert_no_close_atoms(structure, str(path))  # overlapping atoms defeat the symmetry analysis
    return structure


def build_dual_ion_conductor(
    host: str | Structure,
    n_cu: int = 1,
    supercell: tuple[int, int, int] = (1, 1, 1),
    seed: int = 0,
    n_samples: int = 60,
    max_enumerate: int = 200,
    keep: int = 3,
    rank_by: RankBy = "chgnet",
) -> tuple[list[RankedOrdering], dict]:
    """Replace ``n_cu`` Li+ by Cu+ in ``host`` (times ``supercell``), ranked orderings first.

    Parameters
    ----------
    host
        Library name, structure file, or a Structure.
    n_cu
        Number of Li replaced by Cu in the supercell.
    supercell
        Repeats of the host cell.
    seed, n_samples, max_enumerate
        Sampling seed and size, used when there are more than ``max_enumerate`` orderings.
    keep
        Number of distinct orderings returned.
    rank_by
        ``"chgnet"`` (default; Ewald is blind to Li/Cu exchange) or ``"ewald"``.
    """
    source = host if isinstance(host, str) else host.composition.reduced_formula
    structure = load_host(host) if isinstance(host, str) else host.copy()
    structure.make_supercell(list(supercell))
    li_sites = [i for i, s in enumerate(structure) if s.specie.symbol == "Li"]
    if not li_sites:
        raise InputError(source, "contains no Li to replace by Cu", "give a Li-containing host")
    if not 1 <= n_cu <= len(li_sites):
        raise InputError(
            "--n-cu",
            f"{n_cu} Cu cannot replace Li in a cell with {len(li_sites)} Li",
            f"give 1 to {len(li_sites)}",
        )
    missing = {s.specie.symbol for s in structure} - set(OXIDATION_STATES)
    if missing:
        raise InputError(
            source,
            f"has elements without a known formal charge: {sorted(missing)}",
            "use a host made of Li, Cu, Na, Ag, O, H, S, P, Cl, Br, I",
        )
    if n_combinations((len(li_sites), n_cu)) <= max_enumerate:
        method = "exhaustive"
        choices = list(itertools.combinations(li_sites, n_cu))
    else:
        method = f"sampled (seed {seed})"
        rng = np.random.default_rng(seed)
        choices = [
            tuple(sorted(int(i) for i in rng.choice(li_sites, n_cu, replace=False))) for _ in range(n_samples)
        ]
    candidates, labels = [], []
    for cu_sites in choices:
        candidate = structure.copy()
        for i in cu_sites:
            candidate.replace(i, "Cu")
        candidates.append(candidate)
        labels.append({"cu_sites": list(cu_sites)})
    ranked = rank_orderings(candidates, labels, OXIDATION_STATES, rank_by, keep)
    n_li = len(li_sites) - n_cu
    summary = {
        "host": source,
        "formula": ranked[0].structure.composition.reduced_formula,
        "n_li": n_li,
        "n_cu": n_cu,
        "cu_fraction": n_cu / len(li_sites),
        "supercell": list(supercell),
        "method": method,
        "candidates": len(candidates),
        "distinct_returned": len(ranked),
        "rank_by": rank_by,
        "radii": {"Li+": SHANNON_RADII["Li"], "Cu+": SHANNON_RADII["Cu"]},
    }
    return ranked, summary
