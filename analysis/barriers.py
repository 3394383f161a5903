"""Barrier tables from the results store: one row per hop, Li+ and Cu+ side by side."""

from __future__ import annotations

import pandas as pd
from maggma.core import Store

from ionflow.analysis.schemas import ONE_MINIMUM, kra_barrier, side_minima

COLUMNS = {
    "host": "host",
    "species": "species",
    "hop_id": "hop",
    "location": "location",
    "bulk_sites": "bulk sites",
    "hop_length": "length (Å)",
    "forward_barrier": "Ea fwd (eV)",
    "reverse_barrier": "Ea rev (eV)",
    "delta_e": "ΔE (eV)",
    "kra_barrier": "E_KRA (eV)",
    "engine": "engine",
    "converged": "converged",
    "force_calls": "force calls",
    "saddle_interior": "note",
}
DROP_TOLERANCE = 0.02
"""eV: an image this far below an end point means the end point was not the band's minimum."""
LOCAL_MOVE = 0.1
"""eV: a hop whose E_KRA is below this is a rattle within one site, not a long-range hop."""
MODEL_SPREAD = 0.15
"""eV: engines that differ by more than this on one hop make its barrier model-uncertain."""
SLAB_CONVERGENCE = 0.05
"""eV: a slab-centre hop whose E_KRA is this close to bulk's on the same engine shows a slab
that is bulk-like at its centre; only then is its interface hop compared with bulk."""
DFT_ENGINES = ("vasp", "gpaw")
"""Engine names (prefixes) whose barriers are first-principles: a hop's reference where present."""
VS_DFT = "vs DFT (eV)"


def barrier_rows(store: Store, host: str | None = None, species: list[str] | None = None) -> list[dict]:
    """The stored ``MigrationBarrierDoc`` documents, whole, of ``host`` and ``species``."""
    store.connect()
    try:
        return list(store.query(criteria=_criteria(host, species)))
    finally:
        store.close()


def _criteria(host: str | None, species: list[str] | None) -> dict:
    criteria: dict = {"doc_type": "MigrationBarrierDoc"}
    if host:
        criteria["host"] = host
    if species:
        criteria["species"] = {"$in": list(species)}
    return criteria


def barrier_frame(store: Store, host: str | None = None, species: list[str] | None = None) -> pd.DataFrame:
    """Migration barriers in ``store`` as a DataFrame (columns named as in :data:`COLUMNS`).

    Parameters
    ----------
    store
        The results store.
    host
        Keep only this host.
    species
        Keep only these mobile species (e.g. ``["Li", "Cu"]``).
    """
    store.connect()
    try:
        rows = list(
            store.query(
                criteria=_criteria(host, species), properties=[*COLUMNS, "energies", "relaxed_hop_length"]
            )
        )
    finally:
        store.close()
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "energies", "relaxed_hop_length"])
    frame["bulk_sites"] = frame["bulk_sites"].fillna("")  # documents stored before the key
    # documents stored before E_KRA was recorded: the same formula from their barrier and ΔE
    frame["kra_barrier"] = frame["kra_barrier"].where(
        frame["kra_barrier"].notna(), kra_barrier(frame["forward_barrier"], frame["delta_e"])
    )
    # a barrier whose highest image is an end point is no barrier: say so in the row
    records = frame.to_dict("records")
    frame["saddle_interior"] = [_note(row) for row in records]
    frame["saddle_interior"] = _with_model_spread(frame)
    frame["saddle_interior"] = _with_slab_check(frame)
    no_hop = [_one_minimum(row) for row in records]
    frame.loc[no_hop, ["forward_barrier", "reverse_barrier", "kra_barrier"]] = float("nan")
    frame.insert(frame.columns.get_loc("kra_barrier") + 1, VS_DFT, _versus_dft(frame))
    frame = frame.drop(columns=["energies", "relaxed_hop_length"]).rename(columns=COLUMNS)
    return frame.sort_values(["host", "location", "species", "hop"], kind="stable").reset_index(drop=True)


def _note(row: dict) -> str:
    """What a reader must know before trusting a barrier row (from the band's energies)."""
    if _one_minimum(row):
        return (
            f"end points relax to one minimum (ion {row['relaxed_hop_length']:.2f} Å apart): "
            "not a hop, no NEB run"
        )
    e = list(row.get("energies") or [])
    if len(e) < 3:
        return "fewer than 3 images"
    top, (_, initial_drop), (_, final_drop) = side_minima(e)
    if top in (0, len(e) - 1):
        return "saddle at an end point: path downhill, not a barrier"
    drop = max(initial_drop, final_drop)
    if drop > DROP_TOLERANCE:
        return f"an image lies {drop:.2f} eV below an end point: end point not a minimum, barrier understated"
    if row["kra_barrier"] < LOCAL_MOVE:
        return f"local move (E_KRA below {LOCAL_MOVE} eV): a rattle within one site, not a long-range hop"
    return ""


HOP = ["host", "location", "species", "hop_id"]


def _versus_dft(frame: pd.DataFrame) -> list[float]:
    """Each row's E_KRA minus the first-principles E_KRA of the same hop (NaN where the hop has
    none, or the row is the first-principles one)."""
    dft = frame[frame["engine"].str.startswith(DFT_ENGINES)].groupby(HOP)["kra_barrier"].first()
    out = []
    for row in frame.to_dict("records"):
        reference = dft.get(tuple(row[k] for k in HOP))
        is_dft = str(row["engine"]).startswith(DFT_ENGINES)
        out.append(float("nan") if reference is None or is_dft else row["kra_barrier"] - reference)
    return out


def _with_model_spread(frame: pd.DataFrame) -> list[str]:
    """The notes, with "model-uncertain" added to each hop computed on engines whose E_KRA
    differ by more than :data:`MODEL_SPREAD`."""
    notes = list(frame["saddle_interior"])
    usable = frame[[note == "" for note in notes]]
    spreads = usable.groupby(HOP)["kra_barrier"].agg(lambda kra: kra.max() - kra.min())
    for i, row in enumerate(frame.to_dict("records")):
        spread = spreads.get(tuple(row[k] for k in HOP))
        if notes[i] == "" and spread is not None and spread > MODEL_SPREAD:
            notes[i] = f"model-uncertain: engines differ by {spread:.2f} eV on this hop"
    return notes


def usable_rows(frame: pd.DataFrame, note: str) -> pd.DataFrame:
    """The rows whose barrier may be compared: no note, or only the engines' spread (column
    ``note`` holds the notes: raw or renamed frames name it differently)."""
    notes = frame[note]
    return frame[(notes == "") | notes.str.startswith("model-uncertain")]


def bulk_host(slab_host: str) -> str:
    """The bulk host a slab's hops are compared with: "AP/graphene" -> "AP bulk" (the names
    :func:`ionflow.workflows.demo.interface_vs_bulk_hops` gives)."""
    return f"{slab_host.split('/')[0]} bulk"


def slab_of(host: str, slabs: set[str]) -> str | None:
    """The slab whose centre hop checks ``host``: its own, or for a contact variant
    ("AP/graphene, Li interstitial at the contact") the slab of the contact as built."""
    base = host.split(", ")[0]
    return host if host in slabs else base if base in slabs else None


def slab_checks(frame: pd.DataFrame) -> list[tuple[str, str, float, float, float | None]]:
    """Per slab host and engine with a usable slab-centre hop and the same hop in bulk (the bulk
    host's row with the slab-centre hop's ``bulk_sites``): (host, engine, slab-centre E_KRA, bulk
    E_KRA, interface E_KRA or None); a contact variant's interface hop, computed without a
    slab-centre hop of its own, is checked by its built contact's slab (:func:`slab_of`). A
    slab-centre hop that copies no bulk hop checks nothing. ``frame`` has the raw columns
    (before renaming)."""
    usable = usable_rows(frame, "saddle_interior")
    slab_rows = usable[usable["location"].isin(["slab-centre", "interface"])]
    found = []
    for (host, engine), _ in slab_rows.groupby(["host", "engine"]):
        same_engine = usable[usable["engine"] == engine]
        centres = same_engine[same_engine["location"] == "slab-centre"]
        slab = slab_of(host, set(centres["host"]))
        if slab is None:
            continue
        centre = centres[(centres["host"] == slab) & (centres["bulk_sites"] != "")]
        bulk = same_engine[same_engine["host"] == bulk_host(slab)]
        keys = sorted(set(centre["bulk_sites"]) & set(bulk["bulk_sites"]))  # one hop, slab and bulk
        interface = same_engine[(same_engine["host"] == host) & (same_engine["location"] == "interface")]
        if not keys or (slab != host and interface.empty):
            continue
        centre, bulk = (rows[rows["bulk_sites"] == keys[0]] for rows in (centre, bulk))
        found.append(
            (
                host,
                engine,
                float(centre["kra_barrier"].min()),
                float(bulk["kra_barrier"].min()),
                float(interface["kra_barrier"].min()) if not interface.empty else None,
            )
        )
    return found


def _with_slab_check(frame: pd.DataFrame) -> list[str]:
    """The notes, with "slab not bulk-like" on each interface hop whose slab's centre hop differs
    from the same hop in bulk by more than :data:`SLAB_CONVERGENCE` on the same engine, and
    "slab not checked" on each interface hop that has no such pair (a slab of one bulk cell)."""
    notes = list(frame["saddle_interior"])
    records = frame.to_dict("records")
    checks = {(host, engine): centre - bulk for host, engine, centre, bulk, _ in slab_checks(frame)}
    for i, row in enumerate(records):
        if row["location"] != "interface" or notes[i]:
            continue
        difference = checks.get((row["host"], row["engine"]))
        if difference is None:
            notes[i] = "slab not checked (no slab-centre copy of a bulk hop on this engine): not compared"
        elif abs(difference) > SLAB_CONVERGENCE:
            notes[i] = (
                f"slab not bulk-like: its centre hop differs from bulk by {difference:+.2f} eV "
                f"(E_KRA; limit {SLAB_CONVERGENCE} eV): grow the slab before comparing"
            )
    return notes


def interface_vs_bulk(frame: pd.DataFrame) -> list[str]:
    """Per slab host and engine, the interface hop against bulk (E_KRA), stated only when the
    slab-centre hop matches bulk within :data:`SLAB_CONVERGENCE` on that engine (``frame``:
    :func:`barrier_frame`'s table)."""
    raw = frame.rename(columns={v: k for k, v in COLUMNS.items()})
    lines = []
    for host, engine, centre, bulk, interface in slab_checks(raw):
        if abs(centre - bulk) > SLAB_CONVERGENCE:
            lines.append(
                f"{host} ({engine}): interface vs bulk not reported: the slab-centre hop differs from "
                f"{bulk_host(host)} by {centre - bulk:+.2f} eV (E_KRA {centre:.2f} vs {bulk:.2f} eV; "
                f"limit {SLAB_CONVERGENCE} eV): the slab is not bulk-like at its centre"
            )
        elif interface is not None:
            lines.append(
                f"{host} ({engine}): interface hop {interface - bulk:+.2f} eV against bulk (E_KRA "
                f"{interface:.2f} vs {bulk:.2f} eV; slab centre {centre:.2f} eV, within {SLAB_CONVERGENCE} "
                "eV of bulk: the slab is bulk-like at its centre)"
            )
    return lines


def barrier_statements(frame: pd.DataFrame) -> list[str]:
    """What may be said under a barrier table: the species ranking and interface vs bulk."""
    return species_ranking(frame) + interface_vs_bulk(frame)


def species_ranking(frame: pd.DataFrame) -> list[str]:
    """Per host with more than one species, the species ordered by their lowest long-range
    E_KRA, stated only when every engine orders them alike and the difference exceeds the
    engines' spread (``frame``: :func:`barrier_frame`'s table)."""
    usable = usable_rows(frame, COLUMNS["saddle_interior"])
    lines = []
    for host, rows in usable.groupby("host"):
        lowest = rows.groupby([COLUMNS["species"], COLUMNS["engine"]])[COLUMNS["kra_barrier"]].min().unstack()
        lowest = lowest.dropna(axis=1)  # engines that computed every species
        if len(lowest) < 2 or lowest.empty:
            continue
        order = lowest.mean(axis=1).sort_values()
        first, second = order.index[0], order.index[1]
        gaps = lowest.loc[second] - lowest.loc[first]
        spread = float((lowest.max(axis=1) - lowest.min(axis=1)).max())
        values = ", ".join(
            f"{engine} {lowest.loc[first, engine]:.2f} vs {lowest.loc[second, engine]:.2f} eV"
            for engine in lowest
        )
        if len(lowest.columns) == 1:
            lines.append(
                f"{host}: {first} below {second} by {gaps.iloc[0]:.2f} eV on {values} "
                "(one engine: its model uncertainty is not shown)"
            )
        elif (gaps > 0).all() and gaps.min() > spread:
            lines.append(
                f"{host}: {first} below {second} on every engine ({values}), by more than their spread"
            )
        else:
            lines.append(
                f"{host}: {first} vs {second} not ranked: the engines disagree or differ by more "
                f"than the gap ({values}; spread {spread:.2f} eV)"
            )
    return lines


def _one_minimum(row: dict) -> bool:
    """The hop's end points relaxed into one minimum (older documents lack the length)."""
    length = row.get("relaxed_hop_length")
    return length is not None and not pd.isna(length) and length < ONE_MINIMUM
