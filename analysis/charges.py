"""Charge tables: one row per AP/carbon interface from the results store, one row per species
of a Bader document."""

from __future__ import annotations

import re

import pandas as pd
from maggma.core import Store

from ionflow.analysis.schemas import BaderChargesDoc
from ionflow.inputs.errors import InputError

COLUMNS = [
    "interface",
    "termination",
    "stack",
    "atoms",
    "e⁻ AP→C",
    "q AP (e)",
    "q C (e)",
    "field (V/Å)",
    "dipole (eV)",
    "ΔV step (eV)",
    "mean Li (e)",
    "Bader sum/expected",
    "engine",
    "converged",
]


def interface_docs(store: Store, interface: str | None = None) -> list[dict]:
    """Stored :class:`InterfaceChargeTransferDoc` documents, as dicts: of ``interface`` and of
    its contact variants (named ``"<interface>, <change>"``) when given."""
    criteria: dict = {"doc_type": "InterfaceChargeTransferDoc"}
    if interface:
        variants = {"interface": {"$regex": f"^{re.escape(interface)}, "}}
        criteria["$or"] = [{"interface": interface}, variants]
    store.connect()
    try:
        return list(store.query(criteria=criteria))
    finally:
        store.close()


def charge_frame(store: Store, interface: str | None = None) -> pd.DataFrame:
    """Per-region charge transfer, field and mean Li Bader charge, one row per interface.

    ``e⁻ AP→C`` > 0: electrons moved from the AP side to the carbon side.
    """
    rows = []
    for doc in interface_docs(store, interface):
        bader = doc["bader"]
        li = [q for sp, q in zip(bader["species"], bader["net_charges"], strict=True) if sp == "Li"]
        rows.append(
            [
                doc["interface"],
                doc.get("termination", ""),
                doc.get("stack") or "not checked",
                doc["n_atoms"],
                doc["electrons_to_carbon"],
                doc["region_charges"].get("AP", float("nan")),
                doc["region_charges"].get("carbon", float("nan")),
                doc["field"] if doc.get("field") is not None else float("nan"),
                doc["dipole_step"] if doc.get("dipole_step") is not None else float("nan"),
                doc["potential_step"],
                sum(li) / len(li) if li else float("nan"),
                bader["total_electrons"] / bader["expected_electrons"],
                doc["engine"],
                doc["converged"],
            ]
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["interface"], kind="stable").reset_index(drop=True)


def species_charge_frame(bader: BaderChargesDoc) -> pd.DataFrame:
    """Bader net charges per species (e; positive: the atoms lost electrons): count, mean,
    lowest and highest, so inequivalent sites of one species show as a spread."""
    frame = pd.DataFrame({"species": bader.species, "q": bader.net_charges})
    grouped = frame.groupby("species", sort=False)["q"]
    out = grouped.agg(["count", "mean", "min", "max"]).reset_index()
    out.columns = ["species", "atoms", "mean q (e)", "min q (e)", "max q (e)"]
    return out


def interface_profile(store: Store, interface: str) -> dict:
    """The stored potential profile of ``interface`` (z, planar, macroscopic, difference)."""
    docs = [d for d in interface_docs(store, interface) if d["interface"] == interface]
    if not docs:
        raise InputError(
            interface, "no charge-transfer result stored under this name", "list them: ionflow charges"
        )
    doc = max(docs, key=lambda d: str(d.get("provenance", {}).get("created", "")))
    return {
        "profile": doc["profile"],
        "z_planes": doc.get("z_planes", {}),
        "interface": doc["interface"],
        "carbon_shape": doc.get("carbon_shape", "sheet"),
    }
