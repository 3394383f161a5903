"""The built-in field across an AP/carbon interface against electrostatics.

A known charge transfer is put on the real interface models (AP slab under graphene, and
under a (3,3) nanotube): +Q e smeared on the AP's top plane and -Q e on the carbon (the
sheet, or the tube's wall), i.e. electrons moved from AP to carbon. Its potential is solved
exactly on the grid (Poisson by FFT, periodic, neutral), and the analysis of
:mod:`ionflow.analysis.potential` must find the field Gauss's law gives: for the sheet the
parallel-plate field sigma/eps0 (1 - d/c) (the periodic cell's compensating field included),
for the tube the field of a row of line charges (period b across the tube) plus the plate,
averaged over the same column through the tube axis. The sign follows the transfer: field from
AP to carbon (positive) when electrons went to the carbon, reversed when they came back.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure
from scipy.special import erf

from ionflow.analysis.potential import (
    TUBE_WINDOW,
    PotentialGrid,
    planar_average,
    potential_summary,
    profile_along_normal,
)
from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.carbon import carbon_geometry, cnt_diameter
from ionflow.inputs.interface import REGION, build_ap_graphene_interface, build_cnt_on_ap

K_E = 14.399645
"""e^2 / (4 pi eps0) in eV Å."""
Q = 0.5
"""Electrons moved from the AP's top plane to the carbon, per cell."""
PERIOD = 3.945
SPACING = 0.1
"""Å: grid spacing; the smeared charges (0.15 Å wide) are resolved."""
WIDTH = 0.15


@pytest.fixture(scope="module")
def ap_bulk() -> Structure:
    return build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure


@pytest.fixture(scope="module")
def graphene(ap_bulk) -> Structure:
    return build_ap_graphene_interface(ap_bulk, termination="Li2OH", max_strain=0.08, vacuum=8.0).structure


@pytest.fixture(scope="module")
def tube(ap_bulk) -> Structure:
    """A (3,3) tube on the Li2OH face: 180 atoms, the tube along x, 7.9 Å cell across it."""
    return build_cnt_on_ap(
        ap_bulk, chirality=(3, 3), termination="Li2OH", clearance=3.0, max_length=12.0
    ).structure


def cartesian_grid(structure: Structure) -> tuple[list[int], np.ndarray, np.ndarray]:
    a, b, c = structure.lattice.abc
    n = [int(np.ceil(length / SPACING)) for length in (a, b, c)]
    _, y, z = np.meshgrid(
        *(np.arange(k) / k * length for k, length in zip(n, (a, b, c), strict=True)), indexing="ij"
    )
    return n, y, z


def periodic(d: np.ndarray, length: float) -> np.ndarray:
    return (d + 0.5 * length) % length - 0.5 * length


def electron_energy(structure: Structure, rho: np.ndarray) -> np.ndarray:
    """The electron's potential energy (eV) of charge density ``rho`` (e/Å^3): Poisson by FFT."""
    n = rho.shape
    k = [
        2 * np.pi * np.fft.fftfreq(m, d=length / m)
        for m, length in zip(n, structure.lattice.abc, strict=True)
    ]
    kx, ky, kz = np.meshgrid(*k, indexing="ij")
    k2 = kx**2 + ky**2 + kz**2
    k2[0, 0, 0] = 1.0
    phi = 4 * np.pi * K_E * np.fft.fftn(rho) / k2
    phi[0, 0, 0] = 0.0  # neutral cell
    return -np.real(np.fft.ifftn(phi))


def transfer(structure: Structure, sign: float = 1.0) -> tuple[np.ndarray, dict]:
    """``sign`` Q electrons from the AP's top plane onto the carbon (the sheet, or the tube's
    wall): the electron's potential energy and the geometry the analytic field needs."""
    regions = structure.site_properties[REGION]
    carbon = np.array([r == "carbon" for r in regions])
    _, b, c = structure.lattice.abc
    n, y, z = cartesian_grid(structure)
    z_top = structure.cart_coords[~carbon, 2].max()
    plane = np.exp(-(periodic(z - z_top, c) ** 2) / (2 * WIDTH**2))
    geometry = carbon_geometry(structure, regions)
    if geometry.kind == "sheet":
        z_c = structure.cart_coords[carbon, 2].mean()
        target = np.exp(-(periodic(z - z_c, c) ** 2) / (2 * WIDTH**2))
        where = {"z_top": z_top, "z_carbon": z_c}
    else:
        z_axis, y_axis = structure.cart_coords[carbon, 2].mean(), geometry.across * b
        r = np.hypot(periodic(y - y_axis, b), periodic(z - z_axis, c))
        radius = cnt_diameter(3, 3) / 2
        target = np.exp(-((r - radius) ** 2) / (2 * WIDTH**2))
        where = {"z_top": z_top, "z_axis": z_axis, "radius": radius, "z_facing": geometry.z_facing}
    dv = structure.volume / np.prod(n)
    rho = sign * Q * (plane / plane.sum() - target / target.sum()) / dv
    return electron_energy(structure, rho), where


def smeared(u: np.ndarray | float) -> np.ndarray | float:
    """|u| smoothed by the Gaussian of the charges' width: a Gaussian sheet's potential is
    -(sigma / 2 eps0) of it."""
    return u * erf(u / (np.sqrt(2) * WIDTH)) + WIDTH * np.sqrt(2 / np.pi) * np.exp(-(u**2) / (2 * WIDTH**2))


def plate(z: float, z_top: float, d: float, sigma: float, c: float) -> float:
    """Potential (V) of the AP's top plane (+sigma, smeared) and of the periodic cell's
    compensating field for a dipole sigma d per area."""
    return -2 * np.pi * K_E * sigma * smeared(z - z_top) + 4 * np.pi * K_E * sigma * d / c * (z - z_top)


def field_of(structure: Structure, energy: np.ndarray) -> float:
    """The analysis' field, from the difference potential (separated sides: no charge, zero)."""
    grid = PotentialGrid(structure, energy, "synthetic")
    zero = PotentialGrid(structure, np.zeros_like(energy), "reference")
    summary = potential_summary(grid, structure.site_properties[REGION], PERIOD, [zero, zero])
    return summary["field"]


def test_the_sheet_and_the_tube_are_told_apart(graphene, tube):
    sheet = carbon_geometry(graphene, graphene.site_properties[REGION])
    assert sheet.kind == "sheet" and sheet.tube_axis is None
    lying = carbon_geometry(tube, tube.site_properties[REGION])
    carbon = np.array([r == "carbon" for r in tube.site_properties[REGION]])
    assert lying.kind == "tube" and lying.tube_axis == 0  # the builder lays it along x
    assert lying.across == pytest.approx(tube.frac_coords[carbon, 1].mean(), abs=1e-6)
    lowest = tube.cart_coords[carbon, 2].min()
    assert lowest <= lying.z_facing < lowest + 0.5  # the wall facing the slab
    # a sheet's profile is the planar average, as before
    values = np.random.default_rng(0).normal(size=(8, 10, 12))
    assert np.array_equal(profile_along_normal(values, graphene, sheet), planar_average(values))


def test_sheet_field_is_the_parallel_plate_field_and_follows_the_transfer(graphene):
    energy, where = transfer(graphene)
    a, b, c = graphene.lattice.abc
    d = where["z_carbon"] - where["z_top"]
    sigma = Q / (a * b)
    # Gauss: sigma/eps0 between the plates (w -> 0), less the cell's mean field sigma d/(eps0 c)
    expected = 4 * np.pi * K_E * sigma * ((smeared(d) - smeared(0.0)) / d - d / c)
    field = field_of(graphene, energy)
    assert field > 0  # electrons went to the carbon: the field points from AP to carbon
    assert field == pytest.approx(expected, rel=0.01)
    back, _ = transfer(graphene, sign=-1.0)
    assert field_of(graphene, back) == pytest.approx(-field, rel=1e-9)


def row_of_lines(y: np.ndarray, s: np.ndarray, lam: float, b: float, radius: float) -> np.ndarray:
    """Potential (V) of a row of charged cylinders (lam e/Å each, period b) at offset ``y`` from
    one's axis and distance ``s`` below it: the row's closed form, the own cylinder flat
    inside its wall."""
    r = np.hypot(y, s)
    row = -K_E * lam * np.log(np.cosh(2 * np.pi * s / b) - np.cos(2 * np.pi * y / b))
    return row + 2 * K_E * lam * (np.log(r) - np.log(np.maximum(r, radius)))


def test_tube_field_through_its_axis_is_that_of_charged_cylinders(tube):
    energy, where = transfer(tube)
    a, b, c = tube.lattice.abc
    z_top, z_axis, z_facing = where["z_top"], where["z_axis"], where["z_facing"]
    d = z_axis - z_top
    sigma = Q / (a * b)

    def column(z: float) -> float:  # electron energy averaged over the analysis' column
        offsets = np.linspace(-TUBE_WINDOW, TUBE_WINDOW, 401)
        return -float(
            np.mean(
                plate(z, z_top, d, sigma, c) + row_of_lines(offsets, z_axis - z, -Q / a, b, where["radius"])
            )
        )

    expected = (column(z_facing) - column(z_top)) / (z_facing - z_top)
    field = field_of(tube, energy)
    assert field > 0
    assert field == pytest.approx(expected, rel=0.03)  # the shell's own smearing, near its wall
    back, _ = transfer(tube, sign=-1.0)
    assert field_of(tube, back) == pytest.approx(-field, rel=1e-9)


def test_tube_field_does_not_depend_on_where_the_tube_sits_across_the_cell(tube):
    energy, _ = transfer(tube)
    field = field_of(tube, energy)
    moved = tube.copy()
    moved.translate_sites(list(range(len(moved))), [0, 0.5, 0])  # the tube across the cell boundary
    shifted = np.roll(energy, energy.shape[1] // 2, axis=1)
    geometry = carbon_geometry(moved, moved.site_properties[REGION])
    assert geometry.kind == "tube"
    assert min(geometry.across, 1 - geometry.across) == pytest.approx(0.0, abs=1e-6)
    assert field_of(moved, shifted) == pytest.approx(field, rel=1e-3)
