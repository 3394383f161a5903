"""Electrostatic potential across an interface: planar and macroscopic averages, step and field.

Reads VASP ``LOCPOT`` (pymatgen) and the embedded engine's ``potential.cube``. Both hold the
potential energy of an electron in eV (VASP's LOCPOT with LVHAR, GPAW's
``get_electrostatic_potential``); the electrostatic potential in volts is its negative.

Sign convention of the field: positive when it points from the AP side to the carbon side
(the direction in which it pushes a Li+ ion from AP towards carbon).

Graphene: the profile along the normal is the planar average. A nanotube lying on the slab
(:func:`~ionflow.inputs.interface.build_cnt_on_ap`) is no plane: its profile is the average
along the tube axis over a column :data:`TUBE_WINDOW` Å either side of the normal through the
axis, the line along which the tube and the slab face each other; the carbon's "plane" is the
tube's wall facing the slab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from ionflow.analysis.vasp_files import parsed, volumetric_grid
from ionflow.inputs.carbon import CarbonGeometry, carbon_geometry
from ionflow.inputs.errors import InputError


@dataclass
class PotentialGrid:
    """A potential-energy grid (eV) on a periodic cell."""

    structure: Structure
    values: np.ndarray
    source: str


def read_locpot(path: str | Path) -> PotentialGrid:
    """VASP ``LOCPOT`` (written with LVHAR = .TRUE.)."""
    from pymatgen.io.vasp import Locpot

    path = Path(path)
    fix = "run VASP with LVHAR = .TRUE. and give its LOCPOT (recopy it if it was cut short)"
    if not path.is_file():
        raise InputError(str(path), "no such LOCPOT", fix)
    volumetric_grid(path, "a LOCPOT")
    locpot = parsed(path, Locpot.from_file, "a LOCPOT", fix)
    values = np.asarray(locpot.data["total"], dtype=float)
    _check_grid(values, path)
    return PotentialGrid(locpot.structure, values, str(path))


def read_potential_cube(path: str | Path) -> PotentialGrid:
    """The embedded engine's ``potential.cube`` (eV on the GPAW grid)."""
    from ase.io.cube import read_cube_data
    from pymatgen.io.ase import AseAtomsAdaptor

    values, atoms = parsed(path, read_cube_data, "a potential cube file", "rerun the static job of the flow")
    _check_grid(values, path)
    atoms.pbc = True
    return PotentialGrid(AseAtomsAdaptor.get_structure(atoms), np.asarray(values, dtype=float), str(path))


def read_potential(path: str | Path) -> PotentialGrid:
    """LOCPOT or cube, by the file's name."""
    name = Path(path).name.lower()
    return read_potential_cube(path) if name.endswith(".cube") else read_locpot(path)


def _check_grid(values: np.ndarray, path: Path) -> None:
    if values.ndim != 3 or min(values.shape) < 2 or not np.all(np.isfinite(values)):
        raise InputError(str(path), f"grid of shape {values.shape} is incomplete", "rerun or recopy the file")


TUBE_WINDOW = 1.0
"""Å: half-width of the column through the tube axis whose average is a tube's profile."""


def profile_along_normal(
    values: np.ndarray, structure: Structure, geometry: CarbonGeometry, axis: int = 2
) -> np.ndarray:
    """The potential along ``axis``: the planar average for a sheet; for a tube the average
    along its axis over the column within :data:`TUBE_WINDOW` Å of the normal through it."""
    if geometry.kind == "sheet":
        return planar_average(values, axis)
    across_dir = next(i for i in range(3) if i not in (axis, geometry.tube_axis))
    n = values.shape[across_dir]
    frac = np.arange(n) / n
    distance = np.abs((frac - geometry.across + 0.5) % 1.0 - 0.5) * structure.lattice.abc[across_dir]
    column = np.take(
        values,
        np.flatnonzero(distance <= max(TUBE_WINDOW, 0.5 * structure.lattice.abc[across_dir] / n)),
        axis=across_dir,
    )
    other = tuple(i for i in range(3) if i != axis)
    return column.mean(axis=other)


def planar_average(values: np.ndarray, axis: int = 2) -> np.ndarray:
    """Average over the planes normal to ``axis``."""
    other = tuple(i for i in range(3) if i != axis)
    return values.mean(axis=other)


def macroscopic_average(profile: np.ndarray, spacing: float, period: float) -> np.ndarray:
    """Running average over one ``period`` (Å) of a periodic profile sampled every ``spacing`` Å.

    Averaging over one layer period removes the atomic oscillations and leaves the
    slowly varying potential (Baldereschi, Baroni, Resta, PRL 61, 734 (1988)).
    """
    n = len(profile)
    width = max(1, round(period / spacing))
    kernel = np.ones(width) / width
    padded = np.concatenate([profile[-width:], profile, profile[:width]])
    smoothed = np.convolve(padded, kernel, mode="same")
    return smoothed[width : width + n]


@dataclass
class InterfacePotential:
    """Potential profile across an AP/carbon interface along the normal (c)."""

    z: np.ndarray
    planar: np.ndarray
    """The profile along the normal: planar average (sheet) or the column through a tube."""
    macroscopic: np.ndarray
    z_ap_bottom: float
    z_ap_centre: float
    z_ap_top: float
    z_carbon: float
    """The carbon layer facing the slab: the sheet, or the tube's lower wall."""
    carbon: CarbonGeometry
    potential_step: float
    """Macroscopic electron potential energy at the carbon plane minus at the AP slab centre (eV)."""
    field: float
    """Mean field between the top AP plane and the carbon plane (V/Å), positive from AP to carbon."""
    vacuum_step: float
    """Vacuum level above the carbon minus below the AP slab (eV): the interface dipole."""


def interface_potential(
    grid: PotentialGrid, regions: list[str], period: float, axis: int = 2
) -> InterfacePotential:
    """Planar/macroscopic averages and the built-in step and field across the interface.

    Parameters
    ----------
    grid
        Electron potential energy (eV).
    regions
        ``"AP"`` or ``"carbon"`` for each site of ``grid.structure`` (carbon above AP).
    period
        Layer period of the AP along the normal (Å), the window of the macroscopic average.
    """
    if len(regions) != len(grid.structure):
        raise InputError(
            grid.source,
            f"has {len(grid.structure)} atoms but {len(regions)} region labels were given",
            "use the structure the potential was computed for",
        )
    length = grid.structure.lattice.abc[axis]
    zs = grid.structure.cart_coords[:, axis] % length
    ap = np.array([r == "AP" for r in regions])
    if not ap.any() or ap.all():
        raise InputError(grid.source, "needs both an AP and a carbon region", "use an AP/carbon interface")
    carbon = carbon_geometry(grid.structure, regions, axis)
    planar = profile_along_normal(grid.values, grid.structure, carbon, axis)
    spacing = length / len(planar)
    z = np.arange(len(planar)) * spacing
    macro = macroscopic_average(planar, spacing, period)
    z_ap_bottom, z_ap_top = float(zs[ap].min()), float(zs[ap].max())
    z_carbon = carbon.z_facing
    if z_carbon < z_ap_top:
        raise InputError(grid.source, "carbon is not above the AP slab", "build the interface with ionflow")
    z_centre = 0.5 * (z_ap_bottom + z_ap_top)

    def at(values: np.ndarray, height: float) -> float:
        return float(np.interp(height, z, values, period=length))

    step = at(macro, z_carbon) - at(macro, z_centre)
    # the field from the electron potential energy U = -e*phi:  E = -dphi/dz = dU/dz / e
    field = (at(macro, z_carbon) - at(macro, z_ap_top)) / (z_carbon - z_ap_top)
    # vacuum levels halfway between each surface and the cell boundary, where the dipole layer sits
    vacuum_step = at(planar, 0.5 * (carbon.z_top + length)) - at(planar, 0.5 * z_ap_bottom)
    return InterfacePotential(
        z,
        planar,
        macro,
        z_ap_bottom,
        z_centre,
        z_ap_top,
        z_carbon,
        carbon,
        step,
        field,
        vacuum_step,
    )


REFERENCE_SIDES = ("AP", "carbon")
"""The order of the reference runs: the separated AP slab, then the carbon."""


def potential_summary(
    grid: PotentialGrid, regions: list[str], period: float, references: list[PotentialGrid] = ()
) -> dict:
    """Profile, step, field and interface dipole of ``grid``, ready for the result document.

    With ``references`` (the separated AP slab and carbon in the same cell), the field and the
    dipole come from the difference potential U(interface) - Σ U(reference): the atoms' own
    potential wells cancel and only what the charge transfer did remains. Each reference's own
    vacuum step, at the same two heights, is its dipole: the AP slab's is the difference of
    its two faces (large for a polar stack).
    """
    pot = interface_potential(grid, regions, period=period)
    out: dict = {
        "profile": {
            "z": pot.z.tolist(),
            "planar": pot.planar.tolist(),
            "macroscopic": pot.macroscopic.tolist(),
        },
        "potential_step": pot.potential_step,
        "field": None,
        "dipole_step": None,
        "z_planes": {"AP centre": pot.z_ap_centre, "AP top": pot.z_ap_top, "carbon": pot.z_carbon},
        "carbon_shape": pot.carbon.kind,
    }
    if not references:
        return out
    own_profiles = []
    for ref in references:
        if ref.values.shape != grid.values.shape:
            raise InputError(
                ref.source,
                f"grid {ref.values.shape} differs from the interface's {grid.values.shape} ({grid.source})",
                "compute the reference in the interface's cell with the same grid",
            )
        if not np.allclose(ref.structure.lattice.matrix, grid.structure.lattice.matrix, atol=1e-3):
            raise InputError(
                ref.source,
                f"cell differs from the interface's ({grid.source})",
                "compute the reference in the interface's cell with the same grid",
            )
        own_profiles.append(profile_along_normal(ref.values, grid.structure, pot.carbon))
    difference = pot.planar - sum(own_profiles)
    length = grid.structure.lattice.c
    z_vacuum_top = 0.5 * (pot.carbon.z_top + length)

    def at_profile(values: np.ndarray, height: float) -> float:
        return float(np.interp(height, pot.z, values, period=length))

    def at(height: float) -> float:
        return at_profile(difference, height)

    out["reference_steps"] = {}
    for name, own in zip(REFERENCE_SIDES, own_profiles, strict=False):
        out["reference_steps"][name] = at_profile(own, z_vacuum_top) - at_profile(own, 0.5 * pot.z_ap_bottom)
    out["profile"]["difference"] = difference.tolist()
    out["field"] = (at(pot.z_carbon) - at(pot.z_ap_top)) / (pot.z_carbon - pot.z_ap_top)
    # vacuum levels halfway between each surface and the cell boundary (where the dipole layer sits)
    out["dipole_step"] = at(z_vacuum_top) - at(0.5 * pot.z_ap_bottom)
    return out
