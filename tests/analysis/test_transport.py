"""Percolation barriers of hop networks: the dimension of ionic transport from the hops' barriers.

Two conductors whose transport dimension is known from their structure and published work:
olivine LiFePO4 conducts Li+ along 1D channels parallel to b (GGA: Morgan, Van der Ven and
Ceder, Electrochem. Solid-State Lett. 7, A30 (2004); atomistic potentials: Islam et al., Chem.
Mater. 17, 5085 (2005), whose barriers for all three paths are used: 0.55 eV along [010],
2.89 eV along [001], 3.36 eV along [101]),
and layered LiCoO2 conducts within its Li layers (2D) and not across the CoO2 slabs. The
barriers are inputs here; what is tested is the network: which hops join into channels,
layers and a 3D net, and at which barrier. The end-to-end run computes the Ag hop of L1_2
CuAg3 on ASE's EMT and reads its percolation, D and σ through ``ionflow transport``.

D is the exact long-time diffusion tensor of one carrier on the network (dilute limit): checked
against closed forms, a 1D chain's D = k l² along it, the alternating-barrier chain's
a² / (N Σ 1/k_b), and z k l² / 6 on a network whose sites are centres of symmetry; and its
Arrhenius slope is the hop's barrier.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.diffusion import ATTEMPT_FREQUENCY, KB_EV, diffusion_tensor
from ionflow.analysis.schemas import kra_barrier
from ionflow.analysis.transport import network_hops, transport
from ionflow.inputs.errors import InputError
from ionflow.inputs.hops import find_hops, hop_network, percolation_cutoff
from ionflow.workflows.specs import FlowSpec, build_flows
from tests.cli import ionflow, one_line_error

LIFEPO4 = Structure.from_spacegroup(  # Pnma, Li on 4a (the cell of Islam et al.)
    "Pnma",
    Lattice.orthorhombic(10.33, 6.01, 4.69),
    ["Li", "Fe", "P", "O", "O", "O"],
    [
        [0, 0, 0],
        [0.282, 0.25, 0.975],
        [0.095, 0.25, 0.418],
        [0.097, 0.25, 0.743],
        [0.457, 0.25, 0.206],
        [0.166, 0.046, 0.285],
    ],
)
LICOO2 = Structure.from_spacegroup(
    "R-3m", Lattice.hexagonal(2.82, 14.05), ["Li", "Co", "O"], [[0, 0, 0.5], [0, 0, 0], [0, 0, 0.26]]
)


def stored(hop_id: str, length: float, forward: float, delta_e: float = 0.0, **fields) -> dict:
    """A MigrationBarrierDoc as the results store returns it (the fields transport reads)."""
    return {
        "hop_id": hop_id,
        "hop_length": length,
        "forward_barrier": forward,
        "delta_e": delta_e,
        "kra_barrier": kra_barrier(forward, delta_e),
        "converged": True,
        "saddle_interior": True,
        "relaxed_hop_length": length,
        "engine": "published",
        **fields,
    }


def lengths(host: Structure, max_distance: float) -> dict[str, float]:
    graph, names, _ = hop_network(host, "Li", max_distance)
    return {name: float(graph.unique_hops[label]["hop"].length) for label, name in names.items()}


def test_lifepo4_conducts_along_b_channels_only():
    hops = lengths(LIFEPO4, 6.0)  # [010] 3.0 Å, [001] 4.69 Å, then 5.57 and 5.67 Å
    assert list(hops.values()) == sorted(hops.values()) and hops["Li-hop0"] == pytest.approx(
        6.01 / 2, abs=0.01
    )
    published = {"Li-hop0": 0.55, "Li-hop1": 2.89, "Li-hop3": 3.36}  # Islam et al.: [010], [001], [101]
    docs = [stored(h, hops[h], e) for h, e in published.items()]
    doc = transport(LIFEPO4, "LiFePO4", "Li", docs, max_distance=6.0)
    by_dimension = {p.dimension: p for p in doc.percolation}
    assert (by_dimension[1].barrier, by_dimension[1].hop_id) == (0.55, "Li-hop0")  # the b channels
    assert (by_dimension[2].barrier, by_dimension[2].hop_id) == (2.89, "Li-hop1")  # channels joined along c
    assert (by_dimension[3].barrier, by_dimension[3].hop_id) == (3.36, "Li-hop3")
    assert not doc.complete  # the 5.57 Å hop has no barrier: 2D and 3D are upper bounds
    (missing,) = [h for h in doc.hops if h.barrier is None]
    assert missing.hop_id == "Li-hop2" and missing.note == "not computed"


def test_lifepo4_with_nearest_hops_only_never_leaves_its_channels():
    doc = transport(LIFEPO4, "LiFePO4", "Li", [stored("Li-hop0", 3.005, 0.55)], max_distance=3.2)
    assert doc.complete and [p.barrier for p in doc.percolation] == [0.55, None, None]


def test_licoo2_conducts_in_its_layers_and_across_only_through_the_slab():
    hops = lengths(LICOO2, 5.0)  # in-plane 2.82 Å; across the CoO2 slab 4.88 and 4.96 Å
    in_plane = min(hops, key=hops.get)
    docs = [stored(h, length, 0.3 if h == in_plane else 2.5) for h, length in hops.items()]
    doc = transport(LICOO2, "LiCoO2", "Li", docs, max_distance=5.0)
    assert [(p.barrier, p.hop_id) for p in doc.percolation[:2]] == [(0.3, in_plane)] * 2
    assert doc.percolation[2].barrier == 2.5  # 3D needs a hop through the slab


def test_a_hop_is_counted_by_its_kra_barrier_and_only_if_it_is_one():
    """An asymmetric hop enters with E_KRA (the same both ways); a band that is no hop (one
    minimum, downhill, unconverged) or whose barrier is understated (an image below an end
    point) does not enter at all."""
    asymmetric = stored("Li-hop0", 3.005, 0.80, delta_e=0.30)
    doc = transport(LIFEPO4, "LiFePO4", "Li", [asymmetric], max_distance=3.2)
    assert doc.percolation[0].barrier == pytest.approx(0.65)  # 0.80 - 0.30/2 = reverse 0.50 + 0.30/2
    for bad, note in (
        ({"converged": False}, "band not converged"),
        ({"relaxed_hop_length": 0.1}, "one minimum"),
        ({"saddle_interior": False}, "downhill"),
        ({"end_point_drop": 0.1}, "not the band's minimum"),
    ):
        with pytest.raises(InputError, match="no usable Li barrier"):
            transport(LIFEPO4, "LiFePO4", "Li", [stored("Li-hop0", 3.005, 0.5, **bad)], max_distance=3.2)
        _, hops, _ = network_hops(LIFEPO4, "Li", [stored("Li-hop0", 3.005, 0.5, **bad)], 3.2)
        assert note in next(iter(hops.values())).note


def test_a_hop_on_several_engines_enters_with_its_dft_barrier():
    """The DFT barrier is the hop's reference, whatever the engines' names sort to; without a
    usable DFT barrier the potential's enters, and each hop names the engine it came from."""
    chgnet = stored("Li-hop0", 3.005, 0.40, engine="embedded:CHGNet")
    vasp = stored("Li-hop0", 3.005, 0.55, engine="vasp")
    _, hops, _ = network_hops(LIFEPO4, "Li", [chgnet, vasp], 3.2)
    (hop,) = hops.values()
    assert (hop.barrier, hop.engine) == (0.55, "vasp")
    gpaw = stored("Li-hop0", 3.005, 0.60, engine="gpaw:lcao-dzp/PBE")
    _, hops, _ = network_hops(LIFEPO4, "Li", [chgnet, gpaw], 3.2)
    assert next(iter(hops.values())).engine == "gpaw:lcao-dzp/PBE"
    unconverged = {**vasp, "converged": False}
    _, hops, _ = network_hops(LIFEPO4, "Li", [unconverged, chgnet], 3.2)
    assert (next(iter(hops.values())).barrier, next(iter(hops.values())).engine) == (0.40, "embedded:CHGNet")


def rate(barrier: float, celsius: float) -> float:
    return ATTEMPT_FREQUENCY * math.exp(-barrier / (KB_EV * (celsius + 273.15)))


def test_a_chain_of_alternating_barriers_has_the_exact_diffusivity():
    """Sites at 0 and 1.5 Å in a 5 Å period, bonds of rates k1 and k2: D = a² / (2 (1/k1 + 1/k2)),
    below the mean of the jumps' own spreads (the back-correlation term)."""
    a, bond, k1, k2 = 5.0, 1.5, 3.0, 0.2
    x = np.array([1.0, 0.0, 0.0])
    jumps = [
        (0, 1, bond * x, k1),
        (1, 0, -bond * x, k1),
        (1, 0, (a - bond) * x, k2),
        (0, 1, -(a - bond) * x, k2),
    ]
    tensor = diffusion_tensor(2, jumps)
    assert tensor[0, 0] == pytest.approx(a**2 / (2 * (1 / k1 + 1 / k2)))
    assert tensor[0, 0] < 0.25 * (2 * k1 * bond**2 + 2 * k2 * (a - bond) ** 2)
    assert np.allclose(tensor[1:, :], 0) and np.allclose(tensor[:, 1:], 0)


def test_lifepo4_diffuses_along_b_only():
    doc = transport(LIFEPO4, "LiFePO4", "Li", [stored("Li-hop0", 3.005, 0.55)], max_distance=3.2)
    for t in doc.diffusion.temperatures:
        along_b = rate(0.55, t.temperature_c) * 3.005**2 * 1e-16  # cm²/s: a chain's k l²
        assert t.principal_diffusivities[0] == pytest.approx(along_b, rel=1e-3)
        assert t.principal_diffusivities[1] < 1e-9 * along_b and t.diffusivity == pytest.approx(
            along_b / 3, rel=1e-3
        )
        sites_per_cm3 = 4 / (LIFEPO4.volume * 1e-24)  # σ: Nernst-Einstein for 1 % of the Li sites vacant
        expected = (
            0.01 * sites_per_cm3 * 1.602176634e-19 * t.diffusivity / (KB_EV * (t.temperature_c + 273.15))
        )
        assert t.conductivity == pytest.approx(expected, rel=1e-6)
    assert doc.diffusion.activation_energy == pytest.approx(0.55, abs=1e-9)  # one barrier: the slope is it
    assert "dilute" in doc.diffusion.approximations


def test_licoo2_diffuses_in_its_layers():
    hops = lengths(LICOO2, 2.9)
    doc = transport(
        LICOO2, "LiCoO2", "Li", [stored(h, length, 0.3) for h, length in hops.items()], max_distance=2.9
    )
    first, second, third = doc.diffusion.temperatures[0].principal_diffusivities
    assert (
        first == pytest.approx(second, rel=1e-6) and third < 1e-9 * first
    )  # isotropic in-plane, none across


def test_a_dilute_species_hops_on_the_sites_of_the_host_species():
    """Cu on the Ag sites of fcc Ag: one Cu put on a site, hopping into the vacant site next to
    it, named as the Ag network's hops are, so its barriers land on that network."""
    silver = Structure(
        Lattice.cubic(4.09), ["Ag"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    )
    (hop,) = find_hops(silver, "Cu", min_length=7.0, min_atoms=1, n_images=3, sublattice="Ag")
    assert hop.hop_id == "Cu-hop0" and hop.species == "Cu"
    assert hop.length == pytest.approx(4.09 / 2**0.5, abs=1e-3)
    for end in (hop.initial, hop.final):  # one Cu among the Ag, one Ag site vacant
        assert end.composition["Cu"] == 1 and end.composition["Ag"] == 4 * 8 - 2
        assert end[hop.moving_index].specie.symbol == "Cu"
    assert hop.initial[hop.moving_index].distance(hop.final[hop.moving_index]) == pytest.approx(
        hop.length, abs=1e-3
    )
    _, names, _ = hop_network(silver, "Cu", sublattice="Ag")
    assert list(names.values()) == ["Cu-hop0"]


@pytest.fixture(scope="module")
def cuag3_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transport")
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    Structure(Lattice.cubic(3.95), ["Cu", "Ag", "Ag", "Ag"], fcc).to(filename=str(folder / "CuAg3.cif"))
    args = ["run", "barriers", "CuAg3.cif", "--species", "Ag", "--model", "EMT", "--no-warm-start"]
    done = ionflow(*args, "--images", "3", "--results", "r.json", "--work-dir", "runs", cwd=folder)
    assert done.returncode == 0, done.stderr
    # and the study of fcc Ag (a = 4.09 Å): Ag self-diffusion and a dilute Cu on the Ag sites
    Structure(Lattice.cubic(4.09), ["Ag"] * 4, fcc).to(filename=str(folder / "Ag.cif"))
    args = ["run", "study", "Ag.cif", "--species", "Ag,Cu", "--sublattice", "Ag", "--model", "EMT"]
    done = ionflow(
        *args, "--images", "3", "--results", "r.json", "--work-dir", "runs", "--out", "study.png", cwd=folder
    )
    assert done.returncode == 0, done.stderr
    (folder / "study.out").write_text(done.stdout)
    return folder


def test_the_ag_sublattice_of_l12_cuag3_percolates_in_3d_through_its_one_hop(cuag3_run):
    out = ionflow(
        "transport", "CuAg3.cif", "--species", "Ag", "--results", "r.json", "--format", "json", cwd=cuag3_run
    )
    assert out.returncode == 0, out.stderr
    (doc,) = json.loads(out.stdout)
    (barrier,) = [
        d
        for d in json.loads((cuag3_run / "r.json").read_text())
        if d["doc_type"] == "MigrationBarrierDoc" and d["host"] == "CuAg3"
    ]
    (hop,) = doc["hops"]  # the face-centre Ag sites: one symmetry-distinct nearest hop (a/√2)
    assert hop["length"] == pytest.approx(3.95 / 2**0.5, abs=0.01) and doc["complete"]
    # the face centres of a cubic cell joined by their nearest hops: channels, layers and 3D at once
    assert [p["barrier"] for p in doc["percolation"]] == [pytest.approx(barrier["kra_barrier"])] * 3
    assert 0.2 < barrier["kra_barrier"] < 1.5  # eV: a vacancy hop in a close-packed metal
    # every Ag site is a centre of symmetry with 8 neighbours at a/√2: D = z k l² / 6 = (2/3) k a²
    estimate = doc["diffusion"]
    for t in estimate["temperatures"]:
        expected = 2 / 3 * rate(barrier["kra_barrier"], t["temperature_c"]) * 3.95**2 * 1e-16
        assert t["diffusivity"] == pytest.approx(expected, rel=1e-3)
        assert t["principal_diffusivities"] == pytest.approx([expected] * 3, rel=1e-3)  # cubic: isotropic
    assert [t["temperature_c"] for t in estimate["temperatures"]] == [25, 55]
    assert estimate["activation_energy"] == pytest.approx(barrier["kra_barrier"], abs=1e-6)
    stored = [
        d
        for d in json.loads((cuag3_run / "r.json").read_text())
        if d["doc_type"] == "TransportDoc" and d["host"] == "CuAg3"
    ]
    assert [(d["host"], d["species"], d["percolation"]) for d in stored] == [
        ("CuAg3", "Ag", doc["percolation"])
    ]
    # a longer cutoff adds the 3.95 Å hop, not computed: the table says the barriers are upper bounds
    longer = ["--max-distance", "4.2", "--results", "r.json"]
    table = ionflow("transport", "CuAg3.cif", "--species", "Ag", *longer, cwd=cuag3_run).stdout
    assert "Percolation barriers in CuAg3" in table and "3D" in table
    assert "Ag-hop1 (3.95 Å) left out: not computed" in " ".join(table.split()) and "upper bounds" in table


def test_a_dilute_cu_in_silver_diffuses_on_the_fcc_network_of_its_sites(cuag3_run):
    """The Cu's barrier on each of the 12 Ag neighbours: 3D at once, D = z k l² / 6 = k a²."""
    out = ionflow(
        "transport",
        "Ag.cif",
        "--species",
        "Cu",
        "--sublattice",
        "Ag",
        "--results",
        "r.json",
        "--format",
        "json",
        cwd=cuag3_run,
    )
    assert out.returncode == 0, out.stderr
    (doc,) = json.loads(out.stdout)
    (barrier,) = [
        d
        for d in json.loads((cuag3_run / "r.json").read_text())
        if d["doc_type"] == "MigrationBarrierDoc" and d["host"] == "Ag" and d["species"] == "Cu"
    ]
    assert doc["sublattice"] == "Ag" and doc["complete"]
    assert 0.2 < barrier["kra_barrier"] < 1.5  # eV: a vacancy-solute exchange in a close-packed metal
    assert [p["barrier"] for p in doc["percolation"]] == [pytest.approx(barrier["kra_barrier"])] * 3
    for t in doc["diffusion"]["temperatures"]:
        expected = rate(barrier["kra_barrier"], t["temperature_c"]) * 4.09**2 * 1e-16
        assert t["diffusivity"] == pytest.approx(expected, rel=1e-3)


def test_the_study_computes_every_hop_a_3d_path_can_use_and_reports_transport(cuag3_run):
    """``ionflow run study``: the cutoff is the shortest at which the sites join in 3D (fcc: the
    nearest-neighbour hop, a/√2); every hop up to it is computed for each species, and the
    percolation barriers, D and σ (25 and 55 °C) and the Arrhenius PNG come out of one command."""
    out = (cuag3_run / "study.out").read_text()
    assert "Ag: every hop on the Ag sites up to 2.902 Å (3D)" in out  # a/√2 = 2.892 Å + 0.01
    assert "Percolation barriers in Ag" in out and "Diffusivity and conductivity in Ag" in out
    docs = json.loads((cuag3_run / "r.json").read_text())
    barriers = {
        d["species"]: d["kra_barrier"]
        for d in docs
        if d["doc_type"] == "MigrationBarrierDoc" and d["host"] == "Ag"
    }
    stored = {  # the study's own (another test's transport of this host keeps the default cutoff)
        d["species"]: d
        for d in docs
        if d["doc_type"] == "TransportDoc" and d["host"] == "Ag" and d["cutoff"] == pytest.approx(2.902)
    }
    assert set(barriers) == set(stored) == {"Ag", "Cu"}
    for species, doc in stored.items():
        assert doc["sublattice"] == "Ag" and doc["complete"]
        assert [p["barrier"] for p in doc["percolation"]] == [pytest.approx(barriers[species])] * 3
        for t in doc["diffusion"]["temperatures"]:  # fcc, 12 neighbours at a/√2: D = k a²
            expected = rate(barriers[species], t["temperature_c"]) * 4.09**2 * 1e-16
            assert t["diffusivity"] == pytest.approx(expected, rel=1e-3)
        assert [t["temperature_c"] for t in doc["diffusion"]["temperatures"]] == [25, 55]
    assert (cuag3_run / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_study_cutoff_is_where_the_sites_first_join_in_3d(tmp_path):
    """Geometry: LiFePO4's Li join along b at 3.0 Å, into layers with the 4.69 Å hop along c and
    in 3D only at 5.67 Å; LiCoO2's Li layers (2.82 Å) join across the CoO2 slab at 4.96 Å. A
    study spec computes every hop up to that cutoff, no more."""
    assert [percolation_cutoff(LIFEPO4, "Li", d) for d in (1, 2, 3)] == pytest.approx(
        [3.015, 4.70, 5.682], abs=0.005
    )
    assert [percolation_cutoff(LICOO2, "Li", d) for d in (2, 3)] == pytest.approx([2.83, 4.968], abs=0.005)
    LIFEPO4.to(filename=str(tmp_path / "LiFePO4.cif"))
    spec = FlowSpec(flow="study", structure=str(tmp_path / "LiFePO4.cif"), species=["Li"], images=1)
    labels = [label for label, _ in build_flows(spec)]
    hops = lengths(LIFEPO4, 5.682)
    assert len(labels) == len(hops) == 4 and max(hops.values()) < 5.682 < 6.0  # the next hop is not in
    assert all(f"Li-hop{rank} " in label for rank, label in enumerate(labels))


def test_a_study_of_a_lone_ion_on_its_own_sites_is_refused_before_anything_runs(tmp_path):
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    Structure(Lattice.cubic(4.0), ["Cu", "Ag", "Ag", "Ag"], fcc).to(filename=str(tmp_path / "CuAg3.cif"))
    lone = ionflow("run", "study", "CuAg3.cif", "--species", "Cu", "--sublattice", "own", cwd=tmp_path)
    assert "fewer than two sites" in one_line_error(lone) and "--sublattice" in one_line_error(lone)
    bad = ionflow("run", "study", "CuAg3.cif", "--species", "Ag", "--temperatures", "hot", cwd=tmp_path)
    assert "--temperatures" in one_line_error(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CuAg3.cif"]  # nothing created


def test_arrhenius_plot_is_a_png(cuag3_run):
    out = ionflow(
        "plot",
        "arrhenius",
        "CuAg3.cif",
        "--species",
        "Ag",
        "--results",
        "r.json",
        "--out",
        "a.png",
        cwd=cuag3_run,
    )
    assert out.returncode == 0, out.stderr
    assert (cuag3_run / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_transport_bad_input_is_one_line(cuag3_run):
    lone = ionflow("transport", "CuAg3.cif", "--species", "Cu", "--results", "r.json", cwd=cuag3_run)
    assert "fewer than two Cu sites" in one_line_error(lone)
    with pytest.raises(InputError, match="no usable Li barrier") as error:
        transport(LIFEPO4, "LiFePO4", "Li", [], max_distance=3.2)
    assert "ionflow run barriers" in str(error.value)
    with pytest.raises(InputError, match=r"no Li hop shorter than 2\.00 Å"):
        transport(LIFEPO4, "LiFePO4", "Li", [], max_distance=2.0)
    # Li pairs 2 Å apart, 8 Å from the next pair: the pair's hop joins its two sites and nothing else
    pairs = Structure(Lattice.cubic(10.0), ["Li", "Li", "Cl"], [[0, 0, 0], [0.2, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(InputError, match="connect no Li path"):
        transport(pairs, "pairs", "Li", [stored("Li-hop0", 2.0, 0.3)], max_distance=3.0)
    with pytest.raises(InputError, match="another cutoff or host cell"):
        transport(LIFEPO4, "LiFePO4", "Li", [stored("Li-hop0", 4.69, 0.5)], max_distance=3.2)


GGA_LIFEPO4_B = 0.27
"""eV: the Li vacancy's [010] barrier in LiFePO4, GGA (Morgan, Van der Ven and Ceder 2004)."""
CHGNET_BARRIER_ERROR = 0.15
"""eV: how far a universal potential's barrier may sit from DFT's (CHGNet and SevenNet-0 differ
by 0.15-0.23 eV on ionflow's hops; such potentials tend to soften barriers: Deng et al., npj
Comput. Mater. 2025)."""


@pytest.mark.slow  # ~5 min: a CHGNet CI-NEB in a 112-atom LiFePO4 cell
def test_lifepo4_on_chgnet_is_a_1d_conductor_with_the_gga_channel_barrier(tmp_path):
    """Validation on a known conductor: ionflow's own hops, CI-NEB and network on LiFePO4
    (the structure of Streltsov et al., Acta Cryst. B 49, 147 (1993)) give 1D transport along b
    with the published GGA barrier within the engine's accuracy."""
    LIFEPO4.to(filename=str(tmp_path / "LiFePO4.cif"))
    run = ["run", "barriers", "LiFePO4.cif", "--species", "Li", "--max-hops", "1", "--results", "r.json"]
    done = ionflow(*run, "--work-dir", "runs", cwd=tmp_path, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    out = ionflow("transport", "LiFePO4.cif", "--results", "r.json", "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (doc,) = json.loads(out.stdout)
    (hop,) = doc["hops"]
    assert hop["length"] == pytest.approx(6.01 / 2, abs=0.01)  # the nearest hop is the b channel's
    one_d, two_d, three_d = doc["percolation"]
    assert one_d["hop_id"] == "Li-hop0" and two_d["barrier"] is None and three_d["barrier"] is None
    assert abs(one_d["barrier"] - GGA_LIFEPO4_B) < CHGNET_BARRIER_ERROR, one_d["barrier"]
    first, second, _ = doc["diffusion"]["temperatures"][0]["principal_diffusivities"]
    assert second < 1e-9 * first  # D along the channels only
