import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from ionflow.inputs.carbon import CC_BOND, build_cnt, build_graphene, cnt_diameter
from ionflow.inputs.errors import InputError


@pytest.mark.parametrize(("n", "m"), [(6, 6), (8, 0), (6, 3)])
def test_cnt_radius_and_bonds(n, m):
    tube = build_cnt(n, m, length=1)
    xy = tube.positions[:, :2] - tube.positions[:, :2].mean(axis=0)
    radii = np.linalg.norm(xy, axis=1)
    assert np.allclose(radii, cnt_diameter(n, m) / 2, atol=0.02)
    # every C of an infinite tube has three C neighbours at about the graphene bond length
    i, d = neighbor_list("id", tube, 1.6)
    assert np.all(np.bincount(i, minlength=len(tube)) == 3)
    assert np.allclose(d, CC_BOND, atol=0.03)
    assert tube.pbc[2] and not tube.pbc[0]


def test_armchair_atoms_per_cell():
    # an (n, n) tube has 4n atoms per translational unit cell
    assert len(build_cnt(5, 5, length=3)) == 3 * 4 * 5


def test_finite_tube_h_termination():
    bare = build_cnt(6, 0, length=2, periodic=False)
    capped = build_cnt(6, 0, length=2, periodic=False, h_terminate=True)
    n_h = sum(a.symbol == "H" for a in capped)
    assert n_h == 2 * 6  # one H per rim atom on each of the two zigzag rims
    assert len(capped) == len(bare) + n_h
    i, j, d = neighbor_list("ijd", capped, 1.2)
    ch = [dd for ii, jj, dd in zip(i, j, d, strict=True) if capped[ii].symbol == "H"]
    assert len(ch) == n_h and np.allclose(ch, 1.09, atol=1e-6)


def test_graphene_and_defaults():
    sheet = build_graphene((2, 3))
    assert len(sheet) == 2 * 2 * 3
    assert np.ptp(sheet.positions[:, 2]) == pytest.approx(0.0)
    assert not any(a.symbol == "H" for a in build_cnt(6, 6))  # H termination off by default


def test_bad_chirality():
    with pytest.raises(InputError, match="chirality"):
        build_cnt(3, 5)
    with pytest.raises(InputError, match="--finite"):
        build_cnt(6, 6, h_terminate=True)
