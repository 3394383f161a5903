"""The on-disk results store: persistence across processes, upsert, atomic and merged writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ionflow.analysis.schemas import MigrationBarrierDoc
from ionflow.analysis.store import results_store, save_results
from ionflow.inputs.errors import InputError


def _doc(hop_id: str, barrier: float = 0.3, final: float = 0.0) -> MigrationBarrierDoc:
    return MigrationBarrierDoc.from_energies(
        [0.0, barrier, final],
        host="H",
        species="Li",
        hop_id=hop_id,
        hop_length=2.8,
        hop_fingerprint=hop_id,
        converged=True,
        engine="test",
        force_calls=3,
        wall_time_s=1.0,
    )


def test_barrier_document_from_energies():
    doc = MigrationBarrierDoc.from_energies(
        [-1.0, -0.7, -0.5, -0.8],
        host="H",
        species="Cu",
        hop_id="h",
        hop_length=3.0,
        converged=True,
        engine="e",
        force_calls=1,
        wall_time_s=0.1,
    )
    assert doc.forward_barrier == pytest.approx(0.5) and doc.reverse_barrier == pytest.approx(0.3)
    assert doc.delta_e == pytest.approx(0.2) and doc.saddle_image == 2


def test_kra_barrier_is_the_same_both_ways_along_a_hop():
    """E_KRA takes the reaction energy out: the hop read backwards has the same E_KRA, its
    forward and reverse barriers swapped and ΔE negated; a symmetric hop's E_KRA is its barrier."""
    fields = {"host": "H", "species": "Li", "hop_id": "h", "hop_length": 3.0, "converged": True}
    fields |= {"engine": "e", "force_calls": 1, "wall_time_s": 0.1}
    energies = [-1.0, -0.7, -0.5, -0.8]
    there = MigrationBarrierDoc.from_energies(energies, **fields)
    back = MigrationBarrierDoc.from_energies(energies[::-1], **fields)
    assert there.kra_barrier == pytest.approx(back.kra_barrier)
    assert (there.forward_barrier, there.delta_e) == pytest.approx((back.reverse_barrier, -back.delta_e))
    assert there.kra_barrier == pytest.approx(0.5 * (there.forward_barrier + there.reverse_barrier))
    symmetric = MigrationBarrierDoc.from_energies([-1.0, -0.6, -1.0], **fields)
    assert symmetric.kra_barrier == pytest.approx(symmetric.forward_barrier)


def test_persists_across_processes_and_upserts(tmp_path):
    path = tmp_path / "results.json"
    assert save_results(results_store(path), [_doc("a"), _doc("b")]) == 2
    save_results(results_store(path), [_doc("a")])  # the same result again
    code = (
        f"from ionflow.analysis.store import results_store; s = results_store({str(path)!r}); s.connect();"
        "print(s.count({'doc_type': 'MigrationBarrierDoc'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "results.json"
    code = (
        "import sys; from ionflow.analysis.store import results_store, save_results;"
        "from tests.analysis.test_results_store import _doc;"
        f"[save_results(results_store({str(path)!r}), [_doc(f'{{sys.argv[1]}}-{{k}}')]) for k in range(15)]"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, tag], cwd=str(__import__("pathlib").Path(__file__).parents[2])
        )
        for tag in "xyz"
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    ids = {d["hop_id"] for d in json.loads(path.read_text())}
    assert ids == {f"{t}-{k}" for t in "xyz" for k in range(15)}


def test_damaged_file_is_an_error_and_left_alone(tmp_path):
    path = tmp_path / "results.json"
    save_results(results_store(path), [_doc("a")])
    damaged = path.read_text()[:40]  # a truncated write from some other tool
    path.write_text(damaged)
    with pytest.raises(InputError, match="not a valid results file"):
        save_results(results_store(path), [_doc("b")])
    assert path.read_text() == damaged


def test_plot_neb_png(tmp_path):
    import matplotlib.image as mpimg

    from ionflow.analysis.plots import neb_profile, plot_neb

    path = tmp_path / "results.json"
    save_results(results_store(path), [_doc("h", barrier=0.4)])
    png = plot_neb(results_store(path), "h", tmp_path / "neb.png")
    assert mpimg.imread(png).shape[0] > 100
    x, y = neb_profile([0.0, 0.4, 0.0])
    assert x[0] == 0.0 and x[-1] == 1.0
    assert y.min() >= -1e-12  # no spurious minimum below the end points
    assert y[0] == pytest.approx(0.0) and y.max() == pytest.approx(0.4, abs=0.02)  # spline through the images
    with pytest.raises(InputError, match="no stored barrier"):
        plot_neb(results_store(path), "missing", tmp_path / "x.png")


def test_one_store_object_reads_after_each_write(tmp_path):
    """The CLI writes results flow by flow, then reads the tables through the same store object."""
    from ionflow.analysis.schemas import MigrationBarrierDoc
    from ionflow.analysis.store import results_store, save_results

    store = results_store(tmp_path / "r.json")
    for i in range(2):
        doc = MigrationBarrierDoc.from_energies(
            [0.0, 0.3 + i, 0.0],
            host="h",
            species="Li",
            hop_id=f"hop{i}",
            hop_length=2.8,
            hop_fingerprint=str(i),
            converged=True,
            engine="e",
            force_calls=1,
            wall_time_s=1.0,
        )
        save_results(store, [doc])
        store.connect()
        try:
            assert store.count() == i + 1
        finally:
            store.close()
    assert oct((tmp_path / "r.json").stat().st_mode & 0o077) != "0o0"  # readable by the group, like any file


def test_barrier_rows_say_when_a_barrier_cannot_be_trusted(tmp_path):
    from ionflow.analysis.barriers import barrier_frame
    from ionflow.analysis.schemas import MigrationBarrierDoc
    from ionflow.analysis.store import results_store, save_results

    bands = {
        "clean": [0.0, 0.2, 0.5, 0.2, 0.0],
        "downhill": [0.0, -0.1, -0.2, -0.3, -0.4],
        "dip": [0.0, -0.12, 0.29, 0.11, 0.11],
    }
    docs = [
        MigrationBarrierDoc.from_energies(
            e,
            host="h",
            species="Li",
            hop_id=name,
            hop_length=2.8,
            hop_fingerprint=name,
            converged=True,
            engine="e",
            force_calls=1,
            wall_time_s=1.0,
        )
        for name, e in bands.items()
    ]
    assert [d.saddle_interior for d in docs] == [True, False, True]
    assert docs[2].end_point_drop == pytest.approx(0.12)
    store = results_store(tmp_path / "r.json")
    save_results(store, docs)
    notes = dict(zip(*barrier_frame(store)[["hop", "note"]].to_dict("list").values(), strict=True))
    assert notes["clean"] == ""
    assert notes["downhill"].startswith("saddle at an end point")
    assert "0.12 eV below an end point" in notes["dip"]
    # the table carries E_KRA beside the forward barrier; the "dip" hop's end points differ by
    # 0.11 eV, so its E_KRA is 0.055 eV under its forward barrier
    frame = barrier_frame(store).set_index("hop")
    assert frame.loc["dip", "E_KRA (eV)"] == pytest.approx(0.29 - 0.11 / 2)
    assert frame.loc["clean", "E_KRA (eV)"] == pytest.approx(frame.loc["clean", "Ea fwd (eV)"])


def test_documents_stored_before_kra_get_it_in_the_table(tmp_path):
    from ionflow.analysis.barriers import barrier_frame

    doc = _doc("old", barrier=0.5, final=0.2).model_dump(mode="json")
    doc.pop("kra_barrier")
    store = results_store(tmp_path / "r.json")
    store.connect()
    store.update([{**doc, "doc_type": "MigrationBarrierDoc", "result_id": "old"}], key="result_id")
    store.close()
    row = barrier_frame(store).iloc[0]
    assert row["E_KRA (eV)"] == pytest.approx(0.5 - 0.2 / 2)


def _band_doc(hop: str, species: str, engine: str, energies: list[float]):
    from ionflow.analysis.schemas import MigrationBarrierDoc

    return MigrationBarrierDoc.from_energies(
        energies,
        host="h",
        species=species,
        hop_id=hop,
        hop_length=2.8,
        hop_fingerprint=hop,
        converged=True,
        engine=engine,
        force_calls=1,
        wall_time_s=1.0,
    )


def symmetric(barrier: float) -> list[float]:
    return [0.0, barrier / 2, barrier, barrier / 2, 0.0]


def test_local_moves_and_engine_spread_are_flagged(tmp_path):
    """A rattle below 0.1 eV is labelled local; a hop whose engines differ by more than 0.15 eV
    is model-uncertain, one within it is not (the table's rule, on constructed bands)."""
    from ionflow.analysis.barriers import barrier_frame
    from ionflow.analysis.store import results_store, save_results

    docs = [
        _band_doc("Li-hop0", "Li", "CHGNet", symmetric(0.006)),
        _band_doc("Li-hop1", "Li", "CHGNet", symmetric(0.44)),
        _band_doc("Li-hop1", "Li", "SevenNet", symmetric(0.59)),  # 0.15 eV apart: at the limit, not over it
        _band_doc("Cu-hop0", "Cu", "CHGNet", symmetric(0.16)),
        _band_doc("Cu-hop0", "Cu", "SevenNet", symmetric(0.39)),
    ]
    store = results_store(tmp_path / "r.json")
    save_results(store, docs)
    frame = barrier_frame(store)
    notes = {(r["hop"], r["engine"]): r["note"] for r in frame.to_dict("records")}
    assert notes[("Li-hop0", "CHGNet")].startswith("local move")
    assert notes[("Li-hop1", "CHGNet")] == notes[("Li-hop1", "SevenNet")] == ""
    assert notes[("Cu-hop0", "CHGNet")] == "model-uncertain: engines differ by 0.23 eV on this hop"


def test_a_species_ranking_is_stated_only_when_every_engine_agrees_beyond_the_spread(tmp_path):
    from ionflow.analysis.barriers import barrier_frame, species_ranking
    from ionflow.analysis.store import results_store, save_results

    def ranking(bands: dict[tuple[str, str], float]) -> list[str]:
        path = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
        store = results_store(path)
        save_results(
            store, [_band_doc(f"{sp}-hop0", sp, engine, symmetric(e)) for (sp, engine), e in bands.items()]
        )
        return species_ranking(barrier_frame(store))

    # the measured pair: Cu+ lower on both potentials, by less than the potentials' spread
    (line,) = ranking(
        {("Li", "CHGNet"): 0.44, ("Li", "SevenNet"): 0.59, ("Cu", "CHGNet"): 0.16, ("Cu", "SevenNet"): 0.39}
    )
    assert "not ranked" in line and "spread 0.23 eV" in line
    (line,) = ranking(
        {("Li", "CHGNet"): 0.20, ("Li", "SevenNet"): 0.25, ("Cu", "CHGNet"): 0.60, ("Cu", "SevenNet"): 0.70}
    )
    assert line.startswith("h: Li below Cu on every engine")
    (line,) = ranking(
        {("Li", "CHGNet"): 0.50, ("Li", "SevenNet"): 0.30, ("Cu", "CHGNet"): 0.40, ("Cu", "SevenNet"): 0.45}
    )
    assert "not ranked" in line  # the engines order them oppositely
    (line,) = ranking({("Li", "CHGNet"): 0.44, ("Cu", "CHGNet"): 0.16})
    assert line.startswith("h: Cu below Li by 0.28 eV") and "one engine" in line


def test_a_dft_barrier_is_the_hops_reference(tmp_path):
    """Where a hop has a first-principles barrier, every other engine's row says how far its
    E_KRA lies from it; hops without one, and the DFT row itself, show none."""
    from ionflow.analysis.barriers import VS_DFT, barrier_frame
    from ionflow.analysis.store import results_store, save_results

    store = results_store(tmp_path / "r.json")
    save_results(
        store,
        [
            _band_doc("Li-hop0", "Li", "vasp", symmetric(0.50)),
            _band_doc("Li-hop0", "Li", "embedded:CHGNet", symmetric(0.35)),
            _band_doc("Li-hop1", "Li", "embedded:CHGNet", symmetric(0.40)),
        ],
    )
    rows = {(r["hop"], r["engine"]): r[VS_DFT] for r in barrier_frame(store).to_dict("records")}
    assert rows[("Li-hop0", "embedded:CHGNet")] == pytest.approx(-0.15)
    assert rows[("Li-hop0", "vasp")] != rows[("Li-hop0", "vasp")]  # NaN: the reference itself
    assert rows[("Li-hop1", "embedded:CHGNet")] != rows[("Li-hop1", "embedded:CHGNet")]


BULK_HOP = "Li0>O16+x"
"""A bulk hop's key (its bulk cell's sites), carried by the bulk hop and its slab-centre copy."""


def _hop_doc(
    host: str,
    location: str,
    forward: float,
    delta_e: float,
    engine: str = "embedded:CHGNet",
    bulk_sites: str | None = None,
):
    """A converged band from ``forward`` up to its saddle and ``delta_e`` down to its final state;
    the bulk hop and the slab-centre hop are one hop (:data:`BULK_HOP`) unless ``bulk_sites``."""
    from ionflow.analysis.schemas import MigrationBarrierDoc

    energies = [0.0, forward / 2, forward, (forward + delta_e) / 2, delta_e]
    if bulk_sites is None:
        bulk_sites = BULK_HOP if location in ("bulk", "slab-centre") else ""
    return MigrationBarrierDoc.from_energies(
        energies,
        host=host,
        species="Li",
        hop_id=f"Li-{location}",
        location=location,
        bulk_sites=bulk_sites,
        hop_length=2.8,
        hop_fingerprint=f"{host}{location}{engine}",
        converged=True,
        engine=engine,
        force_calls=1,
        wall_time_s=1.0,
    )


def test_interface_vs_bulk_is_stated_only_when_the_slab_centre_is_bulk_like(tmp_path):
    """Like with like: the slab-centre hop must match bulk (E_KRA within 0.05 eV, same engine)
    before the interface hop is compared with bulk. The main job's CHGNet bands (forward, ΔE):
    bulk 0.443/0.122, interface 0.429/0.247, slab centre 0.596/0.410 eV: the forward barriers
    differ by 0.15 eV between centre and bulk, almost all of it the centre hop's ΔE; by E_KRA
    (0.391 vs 0.382 eV) the centre is bulk-like and the interface hop is 0.08 eV below bulk."""
    from ionflow.analysis.barriers import barrier_frame, barrier_statements
    from ionflow.analysis.store import results_store, save_results

    def table(centre: tuple[float, float], bulk_engine: str = "embedded:CHGNet", centre_sites=BULK_HOP):
        store = results_store(tmp_path / f"r{len(list(tmp_path.iterdir()))}.json")
        save_results(
            store,
            [
                _hop_doc("AP bulk", "bulk", 0.443, 0.122, bulk_engine),
                _hop_doc("AP/graphene", "interface", 0.429, 0.247),
                _hop_doc("AP/graphene", "slab-centre", *centre, bulk_sites=centre_sites),
            ],
        )
        frame = barrier_frame(store)
        return frame, barrier_statements(frame)

    frame, (line,) = table((0.596, 0.410))
    assert line.startswith("AP/graphene (embedded:CHGNet): interface hop -0.08 eV against bulk")
    assert set(frame["note"]) == {""}
    # a slab centre 0.10 eV above bulk (E_KRA 0.482): the slab is not bulk-like, nothing compared
    frame, (line,) = table((0.687, 0.410))
    assert "interface vs bulk not reported" in line and "+0.10 eV" in line
    (note,) = frame[frame["location"] == "interface"]["note"]
    assert note.startswith("slab not bulk-like: its centre hop differs from bulk by +0.10 eV")
    # no like-for-like pair: bulk on another engine only; a slab-centre hop that is another hop
    # than bulk's (another Li site or corner), or copies no bulk hop, however close its barrier.
    # Nothing is said, and the interface row says why
    for case in ({"bulk_engine": "embedded:SevenNet"}, {"centre_sites": "Li4>O16+x"}, {"centre_sites": ""}):
        frame, lines = table((0.596, 0.410), **case)
        assert lines == []
        (note,) = frame[frame["location"] == "interface"]["note"]
        assert note.startswith("slab not checked (no slab-centre copy of a bulk hop on this engine)")
        assert set(frame[frame["location"] != "interface"]["note"]) == {""}


def test_a_contact_variant_is_checked_by_its_built_contacts_slab(tmp_path):
    """A contact variant's interface hop (host "<slab>, <variant>", no slab-centre hop of its
    own: the variant changes only the contact) is compared with bulk when its built contact's
    slab centre is bulk-like, and flagged with that slab when it is not."""
    from ionflow.analysis.barriers import barrier_frame, barrier_statements
    from ionflow.analysis.store import results_store, save_results

    def table(centre: tuple[float, float]):
        store = results_store(tmp_path / f"r{len(list(tmp_path.iterdir()))}.json")
        save_results(
            store,
            [
                _hop_doc("AP bulk", "bulk", 0.443, 0.122),
                _hop_doc("AP/graphene", "interface", 0.429, 0.247),
                _hop_doc("AP/graphene", "slab-centre", *centre),
                _hop_doc("AP/graphene, Li interstitial at the contact", "interface", 0.30, 0.10),
            ],
        )
        frame = barrier_frame(store)
        return frame, barrier_statements(frame)

    frame, lines = table((0.596, 0.410))
    (variant,) = [line for line in lines if line.startswith("AP/graphene, Li interstitial")]
    # E_KRA 0.30 - 0.10/2 = 0.25 eV against bulk's 0.443 - 0.061 = 0.382 eV
    assert "interface hop -0.13 eV against bulk" in variant and "slab centre 0.39 eV" in variant
    assert set(frame["note"]) == {""}
    frame, lines = table((0.687, 0.410))  # the slab is not bulk-like: neither is compared
    (line,) = lines  # said once, for the slab; each interface row carries the note
    assert line.startswith("AP/graphene (embedded:CHGNet): interface vs bulk not reported")
    notes = frame[frame["location"] == "interface"]["note"]
    assert all(n.startswith("slab not bulk-like") for n in notes) and len(notes) == 2
