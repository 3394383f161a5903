import numpy as np
import pytest

from ionflow.inputs.checks import closest_pair, net_charge
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import build_ap_graphene_interface, build_cnt_on_ap
from tests.conftest import OX


def _regions(s):
    r = s.site_properties["region"]
    return [i for i, x in enumerate(r) if x == "AP"], [i for i, x in enumerate(r) if x == "carbon"]


@pytest.mark.parametrize("termination", ["LiCl", "Li2OH"])
def test_graphene_interface_strain_labels_termination(ap_bulk, termination):
    model = build_ap_graphene_interface(ap_bulk, termination=termination, max_strain=0.05, gap=3.0)
    s = model.structure
    ap, carbon = _regions(s)
    assert model.strain["side"] == "carbon"
    assert model.strain["max_abs_principal"] <= 0.05
    assert all(s[i].specie.symbol == "C" for i in carbon) and len(carbon) > 0
    assert not any(s[i].specie.symbol == "C" for i in ap)
    # the AP region is whole bulk cells: bulk composition, neutral
    ap_comp = sum((s[i].species for i in ap), start=s[ap[0]].species * 0)
    assert ap_comp.reduced_composition == ap_bulk.composition.reduced_composition
    assert sum(OX[s[i].specie.symbol] for i in ap) == 0
    z = s.cart_coords[:, 2]
    heavy_top = max(z[i] for i in ap if s[i].specie.symbol != "H")
    top_plane = {s[i].specie.symbol for i in ap if z[i] > heavy_top - 0.3 and s[i].specie.symbol != "H"}
    assert top_plane <= ({"Li", "Cl", "Br"} if termination == "LiCl" else {"Li", "O"})
    assert top_plane & ({"Cl", "Br"} if termination == "LiCl" else {"O"})
    # graphene flat, at the gap above the topmost AP atom
    assert np.ptp(z[carbon]) < 1e-6
    assert z[carbon][0] - z[ap].max() == pytest.approx(3.0)
    assert closest_pair(s)[0] > 0.7


def test_carbon_strain_measured_from_bonds(ap_bulk):
    model = build_ap_graphene_interface(ap_bulk, max_strain=0.05)
    s = model.structure
    _, carbon = _regions(s)
    sub = s.copy()
    sub.remove_sites([i for i in range(len(s)) if i not in carbon])
    d = sub.distance_matrix
    np.fill_diagonal(d, np.inf)
    bond = d.min(axis=1)
    assert np.all(np.abs(bond / 1.42 - 1) <= 0.05 + 1e-6)


def test_no_match_within_limits_is_a_clear_error(ap_bulk):
    with pytest.raises(InputError) as err:
        build_ap_graphene_interface(ap_bulk, max_strain=0.005, max_area=40)
    assert "--max-strain" in str(err.value)


def test_unsupported_miller(ap_bulk):
    with pytest.raises(InputError, match="--miller"):
        build_ap_graphene_interface(ap_bulk, miller=(1, 1, 0))


def test_cnt_on_ap(ap_bulk):
    model = build_cnt_on_ap(ap_bulk, chirality=(5, 5), max_strain=0.05)
    s = model.structure
    ap, carbon = _regions(s)
    assert model.strain["max_abs_principal"] <= 0.05
    # the tube is periodic along x: its length equals the cell edge
    assert s.lattice.a == pytest.approx(
        model.info["tube_cells"] * 2.4595 * (1 + model.strain["eps_xx"]), rel=1e-3
    )
    z = s.cart_coords[:, 2]
    assert z[carbon].min() - z[ap].max() == pytest.approx(3.0, abs=1e-6)
    assert net_charge(s, OX) == 0
    assert closest_pair(s)[0] > 0.7
    # the slab under the tube: neutral planes, no dipole (polarity: tests/inputs/test_polarity.py)
    assert model.polarity.tasker == "I" and model.info["polarity"]["dipole_per_area"] == 0.0
