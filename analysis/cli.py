"""``ionflow barriers``, ``charges``, ``transport``, ``plot``, ``parse``: the results store read as tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from maggma.core import Store
from monty.json import MontyEncoder
from rich.table import Table

from ionflow.analysis.barriers import barrier_frame, barrier_rows, barrier_statements
from ionflow.analysis.charges import charge_frame, interface_profile, species_charge_frame
from ionflow.analysis.diffusion import (
    ARRHENIUS_TEMPERATURES_C,
    ATTEMPT_FREQUENCY,
    CARRIER_FRACTION,
    TEMPERATURES_C,
)
from ionflow.analysis.emmet_docs import pathway_results
from ionflow.analysis.neb import barrier_from_vasp_neb, hop_length_from_poscars
from ionflow.analysis.schemas import StaticRunDoc
from ionflow.analysis.store import ResultsFileStore, results_data_store, results_store, save_results
from ionflow.analysis.vasp_charges import charge_transfer_from_vasp
from ionflow.analysis.vasp_static import run_elements, static_run_from_vasp
from ionflow.inputs.cli import console, read_structure
from ionflow.inputs.conductor import load_host
from ionflow.inputs.errors import InputError
from ionflow.inputs.presets import load_preset

BADER = load_preset("embedded")["bader"]
"""The preset's Bader settings: ``ionflow parse charges``'s defaults."""

Results = Annotated[
    str | None, typer.Option("--results", help="Results file or MongoDB URI (default $IONFLOW_RESULTS).")
]


def stored_results(results: str | None) -> Store:
    """The results store to read; a results file named explicitly that does not exist is an
    error (a mistyped path), while the default file not existing yet means nothing is stored."""
    store = results_store(results)
    if isinstance(store, ResultsFileStore) and results and not store.path.exists():
        raise InputError(
            f"--results {results}",
            "no such results file",
            "check the path (ionflow run writes ./ionflow-results.json unless told otherwise)",
        )
    return store


def _cell(value) -> str:
    """A table cell: floats to 3 decimals, a missing number (NaN) as a dash."""
    if isinstance(value, float):
        return "—" if value != value else f"{value:.3f}"
    return str(value)


def print_frame(frame, fmt: str, title: str) -> None:
    """Print a DataFrame as a rich table, CSV, JSON or Markdown."""
    if fmt == "table":
        table = Table(title=title)
        for col in frame.columns:
            table.add_column(str(col), justify="right" if frame[col].dtype.kind in "fi" else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        console.print(table)
    elif fmt == "csv":
        print(frame.to_csv(index=False), end="")
    elif fmt == "json":
        print(frame.to_json(orient="records", indent=2))
    elif fmt == "markdown":
        print(frame.to_markdown(index=False, floatfmt=".3f"))
    else:
        raise InputError("--format", f"unknown format {fmt!r}", "use table, csv, json or markdown")


def barriers(
    results: Results = None,
    host: Annotated[str | None, typer.Option(help="Only this host.")] = None,
    species: Annotated[str | None, typer.Option(help="Comma-separated species, e.g. Li,Cu.")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="table, csv, json, markdown, or emmet (emmet's NebPathwayResult per host and species).",
        ),
    ] = "table",
) -> None:
    """One row per hop: host, species, hop, length, Ea forward/reverse, ΔE, engine, converged.

    Example: ionflow barriers --species Li,Cu --format markdown
    """
    if fmt == "emmet":
        rows = barrier_rows(stored_results(results), host, species.split(",") if species else None)
        paths = pathway_results(rows, results_data_store(results))
        print(json.dumps([p.model_dump() for p in paths], cls=MontyEncoder, indent=1))
        return
    frame = barrier_frame(stored_results(results), host, species.split(",") if species else None)
    if frame.empty:
        console.print("no migration barriers stored yet (run: ionflow run barriers HOST)")
        return
    print_frame(frame, fmt, "Migration barriers")
    if fmt == "table":
        for line in barrier_statements(frame):
            console.print(line)


def transport_frame(docs: list) -> pd.DataFrame:
    """One row per species and dimension of ``docs`` (TransportDoc): the percolation barrier
    and the hop that sets it."""
    rows = [
        {
            "host": doc.host,
            "species": doc.species,
            "sites": doc.sublattice or doc.species,
            "percolates in": f"{p.dimension}D",
            "barrier (eV)": float("nan") if p.barrier is None else p.barrier,
            "rate-limiting hop": p.hop_id or "not reached",
            "hops with a barrier": f"{sum(h.barrier is not None for h in doc.hops)}/{len(doc.hops)}",
            "barriers from": ", ".join(sorted({h.engine for h in doc.hops if h.barrier is not None})),
        }
        for doc in docs
        for p in doc.percolation
    ]
    return pd.DataFrame(rows)


def diffusion_frame(docs: list) -> pd.DataFrame:
    """One row per species and temperature of ``docs`` (TransportDoc): D, sigma, the
    Arrhenius activation energy, and the percolation barriers beside them."""
    rows = []
    for doc in docs:
        estimate = doc.diffusion
        for t in estimate.temperatures:
            row = {
                "host": doc.host,
                "species": doc.species,
                "sites": doc.sublattice or doc.species,
                "T (°C)": t.temperature_c,
                "D (cm²/s)": t.diffusivity,
                "D max (cm²/s)": t.principal_diffusivities[0],
                "σ (S/cm)": t.conductivity,
                "Ea (eV)": float("nan") if estimate.activation_energy is None else estimate.activation_energy,
                "carriers per site": estimate.carrier_fraction,
            }
            for p in doc.percolation:
                row[f"{p.dimension}D barrier (eV)"] = float("nan") if p.barrier is None else p.barrier
            rows.append(row)
    return pd.DataFrame(rows)


def _sci(frame: pd.DataFrame) -> pd.DataFrame:
    """D and sigma span many decades: shown in scientific notation."""
    shown = frame.copy()
    for col in ("D (cm²/s)", "D max (cm²/s)", "σ (S/cm)"):
        shown[col] = [f"{v:.2e}" for v in shown[col]]
    return shown


Temperatures = Annotated[str, typer.Option(help="Comma-separated temperatures (°C) for D and σ.")]
CarrierFraction = Annotated[
    float, typer.Option(help="Carriers (vacancies) per site of the species, for σ (Nernst-Einstein).")
]
AttemptFrequency = Annotated[float, typer.Option(help="Attempt frequency of every hop (Hz).")]
HostName = Annotated[
    str | None, typer.Option(help="The host's name in the results (default: the file's stem).")
]
Sublattice = Annotated[
    str | None,
    typer.Option(help="The species whose sites form the network (a dilute Cu+ on the Li sites: Li)."),
]
MaxDistance = Annotated[
    float | None, typer.Option(help="Longest hop (Å; default 1.05 x the nearest-neighbour distance).")
]


def celsius_list(temperatures: tuple[float, ...]) -> str:
    """Temperatures as a ``--temperatures`` value: "25,55"."""
    return ",".join(f"{t:g}" for t in temperatures)


TRANSPORT_TEMPERATURES = celsius_list(TEMPERATURES_C)
ARRHENIUS_TEMPERATURES = celsius_list(ARRHENIUS_TEMPERATURES_C)


def _temperatures(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) <= -273.15:
        raise InputError("--temperatures", f"{text!r} is not a list of temperatures in °C", "give e.g. 25,55")
    return values


def transport_options(temperatures: str, carrier_fraction: float, attempt_frequency: float) -> list[float]:
    """The temperatures (°C) of ``--temperatures``, once the options are checked (one line each)."""
    if not 0 < carrier_fraction <= 1:
        raise InputError(
            "--carrier-fraction", f"{carrier_fraction} is not a fraction of sites", "give 0 < x <= 1"
        )
    if attempt_frequency <= 0:
        raise InputError(
            "--attempt-frequency", f"{attempt_frequency} Hz", "give a positive frequency, e.g. 1e13"
        )
    return _temperatures(temperatures)


def transport_docs(
    host_file: Path | str,
    species: str,
    name: str | None,
    max_distance: float | None,
    results: str | None,
    temperatures: str,
    carrier_fraction: float,
    attempt_frequency: float,
    sublattice: str | None = None,
    save: bool = False,
) -> list:
    """The TransportDoc of each species of a host (a structure file or a bundled host's name)
    from the stored barriers (``save``: stored in the results store too)."""
    from ionflow.analysis.transport import (  # deferred: diffusion analysis, ~3 s
        transport,
    )

    celsius = transport_options(temperatures, carrier_fraction, attempt_frequency)
    host = load_host(str(host_file))
    host_name = name or Path(host_file).stem
    store = stored_results(results)
    docs = [
        transport(
            host,
            host_name,
            sp,
            barrier_rows(store, host_name, [sp]),
            max_distance,
            celsius,
            carrier_fraction,
            attempt_frequency,
            sublattice,
        )
        for sp in species.split(",")
    ]
    if save:  # one network document per host and species, replaced when recomputed
        save_results(store, docs)
    return docs


def transport_command(
    host_file: Annotated[Path, typer.Argument(help="The host structure the hops were computed in.")],
    species: Annotated[str, typer.Option(help="Comma-separated species, e.g. Li,Cu.")] = "Li",
    name: HostName = None,
    sublattice: Sublattice = None,
    max_distance: MaxDistance = None,
    temperatures: Temperatures = TRANSPORT_TEMPERATURES,
    carrier_fraction: CarrierFraction = CARRIER_FRACTION,
    attempt_frequency: AttemptFrequency = ATTEMPT_FREQUENCY,
    results: Results = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or markdown.")] = "table",
) -> None:
    """Transport from the stored barriers: per species, the lowest barrier (E_KRA) at which its
    hops connect into 1D channels, 2D layers and a 3D network and the hop that sets it; D and σ
    at the given temperatures on the same hops, and the Arrhenius activation energy.

    Example: ionflow transport Li6PS5Cl.cif --species Li --temperatures 25,55 --format markdown
    """
    docs = transport_docs(
        host_file,
        species,
        name,
        max_distance,
        results,
        temperatures,
        carrier_fraction,
        attempt_frequency,
        sublattice,
        save=True,
    )
    if fmt == "json":
        print(json.dumps([doc.model_dump() for doc in docs], indent=2))
        return
    if fmt == "csv":  # one machine-readable table: a row per species and temperature
        print_frame(diffusion_frame(docs), fmt, "")
        return
    print_transport(docs, fmt)


def print_transport(docs: list, fmt: str = "table") -> None:
    """The percolation and the D and σ tables of TransportDocs, with (as a table) the hops left
    out and why, and the approximations D and σ rest on."""
    host_name = docs[0].host
    print_frame(transport_frame(docs), fmt, f"Percolation barriers in {host_name}")
    print_frame(_sci(diffusion_frame(docs)), fmt, f"Diffusivity and conductivity in {host_name}")
    if fmt == "table":
        for doc in docs:
            for hop in doc.hops:
                if hop.barrier is None:
                    console.print(f"{doc.species} {hop.hop_id} ({hop.length:.2f} Å) left out: {hop.note}")
            if not doc.complete:
                console.print(f"{doc.species}: not every hop has a barrier, so these are upper bounds")
        estimate = docs[0].diffusion
        console.print(
            f"D and σ: {estimate.approximations}; attempt frequency {estimate.attempt_frequency:.1e} Hz, "
            f"carriers {estimate.carrier_fraction:g} per site"
        )


def plot_arrhenius_command(
    host_file: Annotated[Path, typer.Argument(help="The host structure the hops were computed in.")],
    species: Annotated[str, typer.Option(help="Comma-separated species, e.g. Li,Cu.")] = "Li",
    out: Annotated[str, typer.Option("--out", "-o", help="PNG file to write.")] = "arrhenius.png",
    name: HostName = None,
    sublattice: Sublattice = None,
    max_distance: MaxDistance = None,
    temperatures: Temperatures = ARRHENIUS_TEMPERATURES,
    carrier_fraction: CarrierFraction = CARRIER_FRACTION,
    attempt_frequency: AttemptFrequency = ATTEMPT_FREQUENCY,
    results: Results = None,
) -> None:
    """Arrhenius plot of σ(T) per species from the stored barriers (as ionflow transport).

    Example: ionflow plot arrhenius Li6PS5Cl.cif --species Li,Cu --out arrhenius.png
    """
    from ionflow.analysis.plots import (  # deferred: matplotlib, ~1 s
        plot_arrhenius,
    )

    docs = transport_docs(
        host_file,
        species,
        name,
        max_distance,
        results,
        temperatures,
        carrier_fraction,
        attempt_frequency,
        sublattice,
    )
    console.print(f"wrote {plot_arrhenius(docs, Path(out))}")


def plot_neb_command(
    hop: Annotated[str, typer.Argument(help="Hop id, as listed by ionflow barriers.")],
    out: Annotated[str, typer.Option("--out", "-o", help="PNG file to write.")] = "neb.png",
    host: Annotated[str | None, typer.Option(help="Only this host.")] = None,
    results: Results = None,
) -> None:
    """Plot a hop's CI-NEB energy profile to PNG.

    Example: ionflow plot neb Cu-hop0 --out cu_hop.png
    """
    from pathlib import Path

    from ionflow.analysis.plots import (  # deferred: matplotlib, ~1 s
        plot_neb,
    )

    path = plot_neb(stored_results(results), hop, Path(out), host)
    console.print(f"wrote {path}")


def charges(
    results: Results = None,
    interface: Annotated[str | None, typer.Option(help="Only this interface.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or markdown.")] = "table",
) -> None:
    """Charge transfer per interface: electrons AP→carbon, region charges, field, mean Li charge.

    Example: ionflow charges --format markdown
    """
    frame = charge_frame(stored_results(results), interface)
    if frame.empty:
        console.print("no charge-transfer results stored yet (run: ionflow run demo)")
        return
    print_frame(
        frame, fmt, "Charge transfer across AP/carbon interfaces (Bader; e⁻ AP→C > 0: AP gave electrons)"
    )


def plot_potential_command(
    interface: Annotated[str, typer.Argument(help="Interface name, as listed by ionflow charges.")],
    out: Annotated[str, typer.Option("--out", "-o", help="PNG file to write.")] = "potential.png",
    results: Results = None,
) -> None:
    """Plot the planar/macroscopic averaged potential across an interface to PNG.

    Example: ionflow plot potential AP-graphene-Li2OH --out potential.png
    """
    from pathlib import Path

    from ionflow.analysis.plots import (  # deferred: matplotlib, ~1 s
        plot_potential,
    )

    path = plot_potential(interface_profile(stored_results(results), interface), Path(out))
    console.print(f"wrote {path}")


def parse_neb_command(
    directory: Annotated[str, typer.Argument(help="VASP NEB run folder holding 00 ... NN.")],
    host: Annotated[str, typer.Option(help="Host name for the table.")],
    species: Annotated[str, typer.Option(help="Mobile species.")],
    hop_id: Annotated[str, typer.Option(help="Hop name for the table.")],
    length: Annotated[
        float | None, typer.Option(help="Hop length (Å); default: from 00/POSCAR and NN/POSCAR.")
    ] = None,
    location: Annotated[str, typer.Option(help="bulk, interface or slab-centre.")] = "bulk",
    end_energies: Annotated[
        str | None, typer.Option(help="E_initial,E_final (eV) where 00/ or NN/ has no OUTCAR.")
    ] = None,
    results: Results = None,
) -> None:
    """Read a VASP NEB folder (image OUTCARs), print its energies and store the barrier.

    Example: ionflow parse neb runs/neb-Li-hop0 --host AP --species Li --hop-id Li-hop0
    """

    measured = hop_length_from_poscars(directory)  # also checks the end points hold the same atoms
    if length is None:
        length = measured
        if length is None:
            raise InputError(directory, "has no 00/POSCAR and NN/POSCAR to measure the hop", "pass --length")
    ends = None
    if end_energies:
        try:
            ends = tuple(float(x) for x in end_energies.split(","))
        except ValueError:
            ends = ()
        if len(ends) != 2:
            raise InputError(
                "--end-energies", f"{end_energies!r} is not two numbers", "write E_initial,E_final"
            )
    hop = {"host": host, "species": species, "hop_id": hop_id, "location": location, "length": length}
    doc = barrier_from_vasp_neb(directory, {**hop, "fingerprint": ""}, ends)
    store = results_store(results)
    save_results(store, [doc])
    energies = ", ".join(f"{e - doc.energies[0]:+.3f}" for e in doc.energies)
    console.print(f"image energies relative to 00 (eV): {energies}", highlight=False)
    frame = barrier_frame(store, host)
    print_frame(frame[frame["hop"] == hop_id], "table", f"Migration barrier from {directory}")


def parse_charges_command(
    directory: Annotated[
        str, typer.Argument(help="VASP static run folder: CHGCAR, AECCAR0/2, LOCPOT, OUTCAR.")
    ],
    name: Annotated[
        str | None, typer.Option(help="Run or interface name for the table (default: the folder's).")
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option(help="Static run of a separated side (AP slab, carbon) in the same cell; give both."),
    ] = None,
    interface: Annotated[
        str | None,
        typer.Option(help="The interface JSON (ionflow build interface) whose region labels to use."),
    ] = None,
    static: Annotated[
        bool, typer.Option("--static", help="Read the run as a plain static run even if it holds carbon.")
    ] = False,
    period: Annotated[float, typer.Option(help="Window of the macroscopic average (Å): one AP cell.")] = 3.9,
    bader_method: Annotated[
        str, typer.Option(help="baderkit method where no ACF.dat is in the folder (default: the preset's).")
    ] = BADER["method"],
    results: Results = None,
) -> None:
    """Read a finished VASP static run: Bader charges and the potential; store the document
    and print it.

    An AP/carbon interface (carbon beside other atoms, or --reference/--interface given) gives
    the charge-transfer row: Bader charges per region, potential step, field. Regions: carbon
    atoms are the carbon side, all others the AP side, unless --interface gives the labels (in
    VASP's atom order: species sorted, as ionflow's VASP flow writes them). Any other run (or
    --static) gives its Bader charges per species (CHGCAR, AECCAR0/2 or ACF.dat; POTCAR or
    OUTCAR for the valence) and its potential profile along c (LOCPOT), with the vacuum level
    and work function of a slab.

    Examples: ionflow parse charges runs/static-Li2OH --reference runs/static-AP --reference runs/static-C
              ionflow parse charges runs/static-Fe3O4
    """
    folder = Path(directory)
    if reference and len(reference) != 2:
        raise InputError("--reference", f"given {len(reference)} times", "give the AP run and the carbon run")
    if static and (reference or interface):
        raise InputError("--static", "reads a plain run", "drop --reference/--interface, or drop --static")
    label = name or folder.resolve().name
    bader = {**BADER, "method": bader_method}
    elements = run_elements(folder)
    if static or not (reference or interface or ("C" in elements and len(elements) > 1)):
        doc = static_run_from_vasp(folder, label, bader)
        save_results(results_store(results), [doc])
        print_static_run(doc, directory)
        return
    structure = None
    if interface:
        structure = read_structure(Path(interface)).get_sorted_structure()
        if "region" not in structure.site_properties:
            raise InputError(
                interface, "has no 'region' labels", "give the JSON that ionflow build interface wrote"
            )
    settings = {"bader": bader, "period": period}
    meta = {"name": label, "termination": "", "fingerprint": ""}
    doc = charge_transfer_from_vasp(folder, reference or [], meta, settings, structure=structure)
    store = results_store(results)
    save_results(store, [doc])
    print_frame(charge_frame(store, label), "table", f"Charge transfer from {directory}")


def print_static_run(doc: StaticRunDoc, directory: str) -> None:
    """A static run's Bader charges per species as a table, then its potential in a line."""
    if doc.bader is not None:
        frame = species_charge_frame(doc.bader)
        print_frame(frame, "table", f"Bader charges of {doc.formula} from {directory} ({doc.bader.method})")
        console.print(
            f"electrons in Bader volumes {doc.bader.total_electrons:.3f} of "
            f"{doc.bader.expected_electrons:g} (POTCAR valence); net charge of the cell "
            f"{sum(doc.bader.net_charges):+.3f} e",
            highlight=False,
        )
    pot = doc.potential
    if pot is not None and pot.vacuum_level is None:
        console.print(
            f"no vacuum (widest gap {pot.vacuum_gap:.1f} Å): potential profile stored", highlight=False
        )
    elif pot is not None:
        flat = "flat" if pot.vacuum_flat else "NOT flat: thicken the vacuum"
        wf = "no Fermi level in the OUTCAR" if pot.work_function is None else f"{pot.work_function:.3f} eV"
        console.print(
            f"vacuum level {pot.vacuum_level:.3f} eV ({flat}); Fermi level "
            f"{pot.fermi_level if pot.fermi_level is not None else '—'} eV; work function {wf}",
            highlight=False,
        )
