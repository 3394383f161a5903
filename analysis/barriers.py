"""Barrier tables from the results store: one row per hop, Li+ and Cu+ side by side."""

from __future__ import annotations

import pandas as pd
from maggma.core import Store

COLUMNS = {
    "host": "host",
    "species": "species",
    "hop_id": "hop",
    "location": "location",
    "hop_length": "length (Å)",
    "forward_barrier": "Ea fwd (eV)",
    "reverse_barrier": "Ea rev (eV)",
    "delta_e": "ΔE (eV)",
    "engine": "engine",
    "converged": "converged",
    "force_calls": "force calls",
    "saddle_interior": "note",
}


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
    criteria: dict = {"doc_type": "MigrationBarrierDoc"}
    if host:
        criteria["host"] = host
    if species:
        criteria["species"] = {"$in": list(species)}
    store.connect()
    try:
        rows = list(store.query(criteria=criteria, properties=list(COLUMNS)))
    finally:
        store.close()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    # a barrier whose highest image is an end point is no barrier: say so in the row
    frame["saddle_interior"] = [
        "" if interior is not False else "saddle at an end point: path downhill, not a barrier"
        for interior in frame["saddle_interior"]
    ]
    frame = frame.rename(columns=COLUMNS)
    return frame.sort_values(["host", "location", "species", "hop"], kind="stable").reset_index(drop=True)
