"""PNG plots of stored results (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from maggma.core import Store
from scipy.interpolate import PchipInterpolator

from ionflow.inputs.errors import InputError


def neb_profile(energies: list[float], points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Energies relative to the initial image on a normalised reaction coordinate.

    Interpolated with a shape-preserving (PCHIP) spline, which adds no extrema between images.
    """
    e = np.asarray(energies, dtype=float) - energies[0]
    x = np.linspace(0.0, 1.0, len(e))
    fine = np.linspace(0.0, 1.0, points)
    return fine, PchipInterpolator(x, e)(fine)


def plot_neb(store: Store, hop_id: str, out: Path, host: str | None = None) -> Path:
    """Plot the stored CI-NEB profile(s) of ``hop_id`` to ``out`` (PNG)."""
    criteria: dict = {"doc_type": "MigrationBarrierDoc", "hop_id": hop_id}
    if host:
        criteria["host"] = host
    store.connect()
    try:
        docs = list(store.query(criteria=criteria))
    finally:
        store.close()
    if not docs:
        raise InputError(
            "HOP", f"no stored barrier for hop {hop_id!r}", "list the hops with: ionflow barriers"
        )
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    for doc in docs:
        x, y = neb_profile(doc["energies"])
        images = np.linspace(0.0, 1.0, len(doc["energies"]))
        rel = np.asarray(doc["energies"]) - doc["energies"][0]
        label = f"{doc['host']} {doc['species']}+ ({doc['engine']}): Ea = {doc['forward_barrier']:.3f} eV"
        (line,) = ax.plot(x, y, label=label)
        ax.plot(images, rel, "o", color=line.get_color())
    ax.set_xlabel("Reaction coordinate (normalised)")
    ax.set_ylabel("Energy relative to initial image (eV)")
    ax.set_title(f"CI-NEB profile: {hop_id}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_potential(stored: dict, out: Path) -> Path:
    """Plot the planar and macroscopic averaged potential of a stored interface to ``out`` (PNG).

    ``stored`` is :func:`ionflow.analysis.charges.interface_profile`'s output. The difference
    potential (interface minus separated sides), where stored, is drawn on a second axis.
    """
    profile, planes = stored["profile"], stored["z_planes"]
    z = np.asarray(profile["z"])
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=120)
    tube = stored.get("carbon_shape") == "tube"
    label = "average through the tube axis" if tube else "planar average"
    ax.plot(z, profile["planar"], lw=0.8, color="0.5", label=label)
    ax.plot(z, profile["macroscopic"], lw=1.6, color="C0", label="macroscopic average")
    for name, height in planes.items():
        ax.axvline(height, ls=":", color="C3" if name == "carbon" else "C2", lw=1)
        ax.annotate(name, (height, ax.get_ylim()[1]), fontsize=7, rotation=90, va="top", ha="right")
    ax.set_xlabel(
        "z along the normal through the tube axis (Å)" if tube else "z along the interface normal (Å)"
    )
    ax.set_ylabel("Electron potential energy (eV)")
    handles, labels = ax.get_legend_handles_labels()
    if "difference" in profile:
        ax2 = ax.twinx()
        (line,) = ax2.plot(z, profile["difference"], color="C1", lw=1.4)
        ax2.set_ylabel("Difference potential (eV)", color="C1")
        handles.append(line)
        labels.append("interface - AP - carbon")
    ax.legend(handles, labels, fontsize=7, loc="lower left")
    ax.set_title(f"Potential across {stored['interface']}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_arrhenius(docs: list, out: Path) -> Path:
    """Arrhenius plot (log10 σ against 1000/T) of each TransportDoc in ``docs`` to ``out`` (PNG),
    with each species' activation energy and the estimate's approximations."""
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    plotted = 0
    for doc in docs:
        points = [(1000 / (t.temperature_c + 273.15), t.conductivity) for t in doc.diffusion.temperatures]
        points = [(x, y) for x, y in points if y > 0]
        if not points:
            continue
        x, y = zip(*sorted(points), strict=True)
        ea = doc.diffusion.activation_energy
        label = doc.species + ("" if ea is None else f", $E_a$ of D = {ea:.2f} eV")
        ax.plot(x, np.log10(y), "o-", label=label)
        plotted += 1
    if not plotted:
        plt.close(fig)
        raise InputError(
            f"host {docs[0].host}",
            "no species moves beyond its site through the hops computed (σ = 0)",
            "compute the hops that connect its sites (ionflow transport lists them)",
        )
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("log$_{10}$ σ (S/cm)")
    top = ax.secondary_xaxis(
        "top",
        functions=(
            lambda v: 1000 / np.maximum(v, 1e-9) - 273.15,  # 1000/T -> °C
            lambda c: 1000 / np.maximum(np.asarray(c) + 273.15, 1e-9),  # °C -> 1000/T
        ),
    )
    top.set_xlabel("T (°C)")
    estimate = docs[0].diffusion
    ax.set_title(f"{docs[0].host}: carriers {estimate.carrier_fraction:g} per site", fontsize=9)
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, estimate.approximations, fontsize=5, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
