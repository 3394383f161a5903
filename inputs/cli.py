"""``ionflow build ...``: build models from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from rich.console import Console
from rich.table import Table

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.carbon import build_cnt, build_graphene, cnt_diameter
from ionflow.inputs.conductor import build_dual_ion_conductor
from ionflow.inputs.errors import InputError

# every ionflow command's console: piped or captured output keeps whole tables and lines
# instead of wrapping them at 80 columns
console = Console(width=None if sys.stdout.isatty() else 200)
app = typer.Typer(
    help="Build atomistic models: AP bulk, carbon, AP/carbon interfaces, dual-ion conductors, hops.",
    no_args_is_help=True,
)

Out = Annotated[Path, typer.Option("--out", "-o", help="New output folder (never overwritten).")]
Seed = Annotated[int, typer.Option(help="Seed for sampled orderings (same seed, same models).")]


def parse_triple(text: str, option: str) -> tuple[int, int, int]:
    """Parse ``"2,2,1"`` or ``"2x2x1"`` into three integers."""
    parts = text.replace("x", ",").split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        raise InputError(option, f"{text!r} is not three integers", "write it as 2,2,1 or 2x2x1")
    return values  # type: ignore[return-value]


def _orderings_table(title: str, ranked: list) -> Table:
    table = Table(title=title)
    for col in ("rank", "formula", "E (eV/atom)", "ΔE (meV/atom)", "multiplicity"):
        table.add_column(col, justify="right")
    e0 = ranked[0].energy_per_atom
    for k, o in enumerate(ranked):
        table.add_row(
            str(k),
            o.structure.composition.formula,
            f"{o.energy_per_atom:.5f}",
            f"{1000 * (o.energy_per_atom - e0):.2f}",
            str(o.multiplicity),
        )
    return table


@app.command("ap")
def build_ap(
    out: Out,
    x_br: Annotated[float, typer.Option("--x-br", help="Br fraction x in Li2OH(Cl1-xBrx).")] = 0.25,
    supercell: Annotated[str, typer.Option(help="Repeats of the cubic cell, e.g. 2,2,1.")] = "2,2,1",
    lattice: Annotated[float | None, typer.Option(help="Cubic edge (Å); Vegard's law if omitted.")] = None,
    seed: Seed = 0,
    keep: Annotated[int, typer.Option(help="Distinct orderings to write.")] = 3,
    rank_by: Annotated[str, typer.Option(help="ewald or chgnet.")] = "ewald",
) -> None:
    """Anti-perovskite Li2OH(Cl1-xBrx) ordered supercells, ranked by energy.

    Example: ionflow build ap --x-br 0.25 --supercell 2,2,1 --out ap/
    """
    from ionflow.inputs.io import (  # deferred: ase.io writers, ~1 s
        write_models,
    )

    ranked, summary = build_ap_orderings(
        x_br, parse_triple(supercell, "--supercell"), lattice, seed, keep=keep, rank_by=_rank(rank_by)
    )
    summary["orderings"] = [
        {"name": f"ap_{k}", "energy_per_atom": o.energy_per_atom, "multiplicity": o.multiplicity, **o.labels}
        for k, o in enumerate(ranked)
    ]
    write_models(out, {f"ap_{k}": o.structure for k, o in enumerate(ranked)}, summary)
    console.print(
        _orderings_table(
            f"{summary['formula']}: x = {summary['x_br_realised']:.3f}, {summary['method']}", ranked
        )
    )
    console.print(f"wrote {len(ranked)} orderings to {out}")


def _rank(text: str):
    if text not in ("ewald", "chgnet"):
        raise InputError("--rank-by", f"unknown ranking {text!r}", "use ewald or chgnet")
    return text


@app.command("carbon")
def build_carbon(
    out: Out,
    kind: Annotated[str, typer.Argument(help="cnt or graphene.")] = "cnt",
    chirality: Annotated[str, typer.Option(help="CNT chirality n,m.")] = "6,6",
    length: Annotated[int, typer.Option(help="CNT unit cells along the axis.")] = 1,
    size: Annotated[str, typer.Option(help="Graphene repeats a,b.")] = "1,1",
    finite: Annotated[bool, typer.Option(help="Finite (non-periodic) CNT.")] = False,
    h_terminate: Annotated[bool, typer.Option(help="H on the rims of a finite CNT.")] = False,
    vacuum: Annotated[float, typer.Option(help="Vacuum (Å).")] = 8.0,
) -> None:
    """Single-wall CNT (ASE nanotube) or graphene.

    Example: ionflow build carbon cnt --chirality 8,0 --length 2 --out cnt/
    """
    from ionflow.inputs.io import (  # deferred: ase.io writers, ~1 s
        write_models,
    )

    if kind == "cnt":
        n, m = _pair(chirality, "--chirality")
        atoms = build_cnt(n, m, length, vacuum, periodic=not finite, h_terminate=h_terminate)
        summary = {
            "kind": "cnt",
            "chirality": [n, m],
            "diameter": cnt_diameter(n, m),
            "length_cells": length,
            "periodic": not finite,
        }
    elif kind == "graphene":
        atoms = build_graphene(_pair(size, "--size"), vacuum)
        summary = {"kind": "graphene", "size": list(_pair(size, "--size"))}
    else:
        raise InputError("KIND", f"unknown carbon model {kind!r}", "use cnt or graphene")
    atoms.pbc = True  # written with its cell; the vacuum separates the images
    structure = AseAtomsAdaptor.get_structure(atoms)
    summary["formula"] = structure.composition.formula
    write_models(out, {kind: structure}, summary)
    console.print(f"{kind}: {structure.composition.formula}, {len(structure)} atoms -> {out}")


def _pair(text: str, option: str) -> tuple[int, int]:
    try:
        a, b = (int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        raise InputError(option, f"{text!r} is not two integers", "write it as 6,6") from None
    return a, b


def _ap_bulk(supercell: str, x_br: float, seed: int) -> Structure:

    return build_ap_orderings(x_br, parse_triple(supercell, "--ap-supercell"), seed=seed, keep=1)[0][
        0
    ].structure


@app.command("interface")
def build_interface(
    out: Out,
    carbon: Annotated[str, typer.Argument(help="graphene or cnt.")] = "graphene",
    termination: Annotated[str, typer.Option(help="AP plane facing the carbon: LiCl or Li2OH.")] = "LiCl",
    miller: Annotated[str, typer.Option(help="AP face (only 0,0,1).")] = "0,0,1",
    x_br: Annotated[float, typer.Option("--x-br")] = 0.25,
    ap_supercell: Annotated[
        str, typer.Option(help="AP ordering cell; thin in-plane keeps the match small.")
    ] = "1,1,4",
    layers: Annotated[int, typer.Option(help="AP bulk cells stacked in the slab.")] = 1,
    gap: Annotated[float, typer.Option(help="AP-carbon gap (Å).")] = 3.0,
    vacuum: Annotated[float, typer.Option(help="Vacuum above the carbon (Å).")] = 15.0,
    max_strain: Annotated[float, typer.Option(help="Largest strain on the matched side (fraction).")] = 0.05,
    max_area: Annotated[float, typer.Option(help="Largest interface area (Å²).")] = 150.0,
    strain_on: Annotated[str, typer.Option(help="Strained side: carbon or AP.")] = "carbon",
    chirality: Annotated[str, typer.Option(help="CNT chirality for carbon=cnt.")] = "6,6",
    non_polar: Annotated[
        bool,
        typer.Option(
            "--non-polar/--any-stacking",
            help="Stack the slab along the bulk axis that makes it non-polar, where one does.",
        ),
    ] = True,
    seed: Seed = 0,
) -> None:
    """AP (001) slab with graphene on top (ZSL lattice match) or a CNT lying on it.

    summary.json reports the AP slab's planes with their formal charges, its dipole per area
    and Tasker type (I, II non-polar; III polar).

    Examples:
      ionflow build interface graphene --termination LiCl --max-strain 0.05 --out iface/
      ionflow build interface cnt --chirality 6,6 --out cnt_on_ap/
    """
    from ionflow.inputs.interface import (  # deferred: interface builders, ~3 s
        build_ap_graphene_interface,
        build_cnt_on_ap,
    )
    from ionflow.inputs.io import (  # deferred: ase.io writers, ~1 s
        write_models,
    )

    if strain_on not in ("carbon", "AP"):
        raise InputError("--strain-on", f"unknown side {strain_on!r}", "use carbon or AP")
    bulk = _ap_bulk(ap_supercell, x_br, seed)
    if carbon == "graphene":
        model = build_ap_graphene_interface(
            bulk,
            termination,
            layers,
            gap,
            vacuum,
            max_strain,
            max_area,
            strain_on,
            parse_triple(miller, "--miller"),
            non_polar,
        )  # type: ignore[arg-type]
    elif carbon == "cnt":
        model = build_cnt_on_ap(
            bulk,
            _pair(chirality, "--chirality"),
            termination,
            layers,
            gap,
            vacuum,
            max_strain=max_strain,
            non_polar=non_polar,
        )  # type: ignore[arg-type]
    else:
        raise InputError("CARBON", f"unknown carbon {carbon!r}", "use graphene or cnt")
    s = model.structure
    regions = s.site_properties["region"]
    summary = {
        **model.info,
        "formula": s.composition.formula,
        "n_atoms": len(s),
        "strain": model.strain,
        "region_counts": {r: regions.count(r) for r in ("AP", "carbon")},
        "region_indices": {r: [i for i, x in enumerate(regions) if x == r] for r in ("AP", "carbon")},
    }
    write_models(out, {"interface": s}, summary)
    console.print(
        f"{model.info['kind']} interface, {model.termination}-terminated AP, {len(s)} atoms, "
        f"strain on {model.strain['side']}: "
        f"max principal {100 * model.strain['max_abs_principal']:.2f}% -> {out}"
    )
    polarity = model.polarity
    kind = "POLAR stack" if polarity.polar else "non-polar"
    console.print(
        f"AP slab (stacked along the bulk's {model.info['stacking_axis']}), "
        f"bottom to top: {polarity.stack()}; "
        f"{kind} (Tasker {polarity.tasker}), dipole {polarity.dipole_per_area:+.4f} e/Å "
        f"({polarity.potential_step:+.2f} V)",
        highlight=False,
    )


@app.command("conductor")
def build_conductor(
    out: Out,
    host: Annotated[
        str, typer.Option(help="Bundled host name (Li6PS5Cl, AP) or a CIF/POSCAR path.")
    ] = "Li6PS5Cl",
    n_cu: Annotated[int, typer.Option("--n-cu", help="Li replaced by Cu+.")] = 1,
    supercell: Annotated[str, typer.Option(help="Repeats of the host cell.")] = "1,1,1",
    seed: Seed = 0,
    keep: Annotated[int, typer.Option(help="Distinct orderings to write.")] = 3,
    rank_by: Annotated[str, typer.Option(help="chgnet (default) or ewald (blind to Li/Cu).")] = "chgnet",
) -> None:
    """Li+/Cu+ dual-ion conductor: n Li of a host replaced by Cu+.

    Example: ionflow build conductor --host Li6PS5Cl --n-cu 2 --out licu/
    """
    from ionflow.inputs.io import (  # deferred: ase.io writers, ~1 s
        write_models,
    )

    ranked, summary = build_dual_ion_conductor(
        host, n_cu, parse_triple(supercell, "--supercell"), seed, keep=keep, rank_by=_rank(rank_by)
    )
    summary["orderings"] = [
        {
            "name": f"conductor_{k}",
            "energy_per_atom": o.energy_per_atom,
            "multiplicity": o.multiplicity,
            **o.labels,
        }
        for k, o in enumerate(ranked)
    ]
    write_models(out, {f"conductor_{k}": o.structure for k, o in enumerate(ranked)}, summary)
    console.print(
        _orderings_table(f"{summary['formula']} ({summary['method']}, ranked by {rank_by})", ranked)
    )
    console.print(f"wrote {len(ranked)} orderings to {out}")


@app.command("hops")
def build_hops(
    out: Out,
    structure: Annotated[
        Path, typer.Argument(help="Host structure file (CIF/POSCAR/JSON from ionflow build).")
    ],
    species: Annotated[str, typer.Option(help="Mobile ion: Li or Cu.")] = "Li",
    images: Annotated[int, typer.Option(help="IDPP images between the end points.")] = 5,
    min_length: Annotated[float, typer.Option(help="Smallest supercell edge for the NEB cell (Å).")] = 10.0,
    max_atoms: Annotated[
        int, typer.Option(help="Most atoms in the NEB cell (a larger one is refused).")
    ] = 240,
    max_hops: Annotated[int | None, typer.Option(help="Keep at most this many hops.")] = None,
    interface: Annotated[bool, typer.Option(help="Interface hops (near the carbon vs slab centre).")] = False,
) -> None:
    """Symmetry-distinct nearest-neighbour vacancy hops with IDPP images.

    Examples:
      ionflow build hops licu/conductor_0.cif --species Cu --out hops_cu/
      ionflow build hops iface/interface.json --interface --out hops_iface/
    """
    from ionflow.inputs.hops import (  # deferred: diffusion analysis, ~3 s
        find_hops,
        interface_hops,
    )
    from ionflow.inputs.io import (  # deferred: ase.io writers, ~1 s
        write_models,
    )

    host = read_structure(structure)
    if interface:
        hops = interface_hops(host, species, host_name=structure.stem, n_images=images)
    else:
        hops = find_hops(
            host,
            species,
            host_name=structure.stem,
            n_images=images,
            min_length=min_length,
            min_atoms=1,
            max_atoms=max_atoms,
            max_hops=max_hops,
        )
    files = {}
    for hop in hops:
        for k, image in enumerate(hop.images):
            files[f"{hop.hop_id}/{k:02d}"] = image
    write_models(out, files, {"hops": [h.as_dict() for h in hops]}, formats=("poscar", "json"))
    table = Table(title=f"{species} hops in {structure.name}")
    for col in ("hop", "location", "length (Å)", "atoms", "images"):
        table.add_column(col)
    for h in hops:
        table.add_row(h.hop_id, h.location, f"{h.length:.3f}", str(len(h.initial)), str(len(h.images)))
    console.print(table)


def read_structure(path: Path) -> Structure:
    """Read a structure file; a pymatgen JSON keeps site labels such as ``region``."""
    import json

    if not path.exists():
        raise InputError(str(path), "does not exist", "give the path of a structure file")
    try:
        if path.suffix == ".json":
            return Structure.from_dict(json.loads(path.read_text()))
        return Structure.from_file(path)
    except Exception as exc:
        raise InputError(
            str(path),
            f"cannot be read as a structure ({type(exc).__name__})",
            "check that it is a valid CIF, POSCAR or pymatgen JSON",
        ) from None
