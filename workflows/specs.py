"""Flow specs: what to compute, in a small YAML file, built into the same jobflow Flows that
``ionflow run`` runs here and ``ionflow submit`` sends to a cluster.

A spec names the kind of flow and its inputs, for example::

    flow: barriers          # barriers | charges | demo | study
    structure: Li6PS5Cl     # bundled host name or a structure file (relative to the spec)
    species: [Li, Cu]
    images: 3
    engine: embedded        # embedded | gpaw | vasp

Its fingerprint (the settings plus a hash of the structures they build) identifies a
submission: the same spec submitted twice is one workflow.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from jobflow import Flow
from pydantic import BaseModel, Field, ValidationError, field_validator

from ionflow.inputs.checks import structure_fingerprint
from ionflow.inputs.cli import read_structure
from ionflow.inputs.conductor import load_host
from ionflow.inputs.contacts import CONTACT_CHANGES
from ionflow.inputs.errors import InputError, field_error, read_yaml_mapping, registered
from ionflow.inputs.interface import InterfaceModel, with_polarity
from ionflow.workflows.engines import DEFAULT_ENGINE, ENGINES
from ionflow.workflows.settings import NebDftSettings, NebSettings

FLOW_KINDS = ("barriers", "charges", "demo", "study")
NEB = NebSettings()
"""The preset's NEB settings: the defaults of a spec's images, fmax and model."""


class FlowSpec(BaseModel):
    """What one submission computes; every field has the meaning of the ``ionflow run`` option."""

    model_config = {"extra": "forbid"}

    flow: Literal["barriers", "charges", "demo", "study"]
    structure: str | None = Field(None, description="host (barriers) or interface JSON (charges)")
    name: str | None = Field(None, description="result name (default: the structure's file name)")
    species: list[str] = Field(default_factory=lambda: ["Li"])
    sublattice: str | None = Field(
        None, description="barriers: hop each species on this species' sites (a dilute Cu+ on the Li sites)"
    )
    max_hops: int = Field(1, ge=1)
    max_distance: float | None = Field(
        None,
        gt=0,
        description="barriers: longest hop (Å); unset: nearest neighbours (1.05 x the shortest distance)",
    )
    min_length: float = Field(7.0, gt=0)
    images: int = Field(NEB.n_images, ge=1)
    fmax: float = Field(NEB.fmax, gt=0)
    model: str = Field(
        NEB.model, description="embedded engine's potential for the NEB (CHGNet, SevenNet, EMT for metals)"
    )
    warm_start: bool | None = Field(
        None,
        description="warm-start the NEB from a CHGNet band; unset: on where benchmarked "
        "(embedded engine with SevenNet), off elsewhere (GPAW, VASP, CHGNet, EMT)",
    )
    relax: bool = True
    references: bool = True
    allow_polar: bool = Field(
        False, description="charges: compute a polar AP stack anyway (its row says 'polar stack')"
    )
    contacts: bool = Field(
        False,
        description="charges: the contact scan, the interface as built and with Br at the contact, "
        "a Li interstitial and a Li vacancy at the contact (ionflow.inputs.contacts), each with its Li "
        "hops; demo: the LiCl face as built, every variant of the Li2OH face and the (5,0) nanotube as "
        "built (graphene vs CNT: its charge transfer; the main job itself runs the tube's Li hops)",
    )
    quick: bool = False
    donor: bool = Field(
        False,
        description="demo: add the contact scan's donor (a Li added at the graphene contact: its charge "
        "transfer and its Li hop next to the carbon)",
    )
    slab_check: bool = Field(
        False,
        description="demo: add the Li hops under graphene on a slab of two bulk cells, its slab-centre hop "
        "the bulk hop's copy (the check before the interface hop is compared with bulk)",
    )
    engine: str = Field(DEFAULT_ENGINE, description="a name in ionflow.workflows.engines.ENGINES")
    dft: dict[str, Any] = Field(
        default_factory=dict,
        description="engine gpaw: GPAW settings over the preset's neb_dft (e.g. {mode: pw, ecut: 300})",
    )

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        return registered(value, ENGINES)

    @field_validator("dft")
    @classmethod
    def _dft(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            NebDftSettings(**value)
        except ValidationError as exc:  # the key GPAW's settings do not take, or its bad value
            error = exc.errors()[0]
            raise ValueError(f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None
        return value

    def label(self) -> str:
        """Short human name of the submission."""
        if self.flow == "demo":
            extras = (" (quick)" if self.quick else "") + (" + contacts" if self.contacts else "")
            extras += (" + donor" if self.donor else "") + (" + slab check" if self.slab_check else "")
            return "demo" + extras
        return f"{self.flow} {self.name or Path(self.structure or '').stem}"


def _spec_fix(field: str) -> str:
    if field == "flow":
        return f"set `flow:` to one of {', '.join(FLOW_KINDS)}"
    if field == "cnt":  # a demo option until 2026-12-07
        return "remove `cnt:` (the demo runs the nanotube's hops itself; `donor: true` adds the donor)"
    return "see docs/clusters.md: flow specs"


def load_spec(path: str | Path) -> FlowSpec:
    """Read a flow spec; a relative ``structure`` path is taken relative to the spec file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such flow spec", "give a YAML file with at least `flow: barriers`")
    data = read_yaml_mapping(path, "write `flow: barriers` and its options")
    if isinstance(data.get("species"), str):
        data["species"] = [s.strip() for s in data["species"].split(",")]
    try:
        spec = FlowSpec(**data)
    except ValidationError as exc:
        raise field_error(path, exc, _spec_fix) from None
    if spec.flow != "demo" and not spec.structure:
        raise InputError(
            f"{path}: field 'structure'", "is missing", f"name the structure the {spec.flow} flow uses"
        )
    if spec.structure and (path.parent / spec.structure).exists():
        spec.structure = str((path.parent / spec.structure).resolve())
    return spec


def spec_structures(spec: FlowSpec) -> list:
    """The structures the spec starts from (none for the demo, which builds its own)."""
    if spec.flow in ("barriers", "study"):
        return [load_host(spec.structure)]
    if spec.flow == "charges":
        return [read_structure(Path(spec.structure))]
    return []


def spec_fingerprint(spec: FlowSpec) -> str:
    """Identity of a submission: its settings and its structures, not the file names."""

    # fields added after specs were first submitted count only when set: an earlier spec keeps its identity
    unset = {
        field
        for field in ("sublattice", "max_distance", "dft", "donor", "contacts", "slab_check")
        if not getattr(spec, field)
    }
    settings = spec.model_dump(exclude={"structure"} | unset)
    if spec.name is None and spec.structure:
        settings["name"] = Path(spec.structure).stem
    structures = spec_structures(spec)
    parts = [json.dumps(settings, sort_keys=True)]
    parts += [structure_fingerprint(s) for s in structures]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def build_flows(spec: FlowSpec) -> list[tuple[str, Flow]]:
    """The spec's flows, each with a label; the same code for ``run`` and ``submit``."""
    if spec.flow == "demo":
        from ionflow.workflows.demo import (  # deferred: engines (torch, CHGNet, GPAW), ~5 s
            demo_flows,
        )

        return demo_flows(
            quick=spec.quick, donor=spec.donor, contacts=spec.contacts, slab_check=spec.slab_check
        )
    structure = spec_structures(spec)[0]
    name = spec.name or Path(spec.structure).stem
    if spec.flow in ("barriers", "study"):
        return _barrier_flows(spec, structure, name)
    return _charge_flows(spec, structure, name)


def study_cutoff(spec: FlowSpec, host, name: str, species: str) -> float:
    """A study's hop cutoff for ``species``: the spec's ``max_distance``, or else the shortest at
    which the network's sites join in 3D (every hop a percolating path can use)."""
    from ionflow.inputs.hops import (  # deferred: diffusion analysis, ~3 s
        percolation_cutoff,
    )

    sites = spec.sublattice or species
    if sum(site.specie.symbol == sites for site in host) < 2:
        raise InputError(
            f"{name}: species {species}",
            f"has fewer than two sites: no {sites} network to study",
            "hop it on the sites of the host's mobile ion, e.g. --sublattice Li",
        )
    return spec.max_distance or percolation_cutoff(host, sites, 3, name)


def _barrier_flows(spec: FlowSpec, host, name: str) -> list[tuple[str, Flow]]:
    """The CI-NEB flow of each hop: the nearest ``max_hops`` (barriers), or every hop up to the
    cutoff (study: the network :mod:`ionflow.analysis.transport` percolates through)."""
    from ionflow.inputs.hops import (  # deferred: diffusion analysis, ~3 s
        find_hops,
    )

    hops = []
    study = spec.flow == "study"
    for sp in spec.species:
        hops += find_hops(
            host,
            sp,
            host_name=name,
            n_images=spec.images,
            min_length=spec.min_length,
            min_atoms=1,
            max_hops=None if study else spec.max_hops,
            max_distance=study_cutoff(spec, host, name, sp) if study else spec.max_distance,
            sublattice=spec.sublattice,
        )
    maker = ENGINES[spec.engine].barrier_maker(spec)
    return [
        (f"CI-NEB {hop.species} {hop.hop_id} ({len(hop.initial)} atoms)", maker.make(hop)) for hop in hops
    ]


def _charge_flows(spec: FlowSpec, structure, name: str) -> list[tuple[str, Flow]]:
    make_charges = ENGINES[spec.engine].charge_maker
    if make_charges is None:
        raise InputError(
            f"--engine {spec.engine}",
            "runs migration barriers only",
            "run the charge transfer on --engine embedded (its density is GPAW's) or --engine vasp",
        )
    maker = make_charges(spec)
    termination = str(structure.properties.get("termination", ""))
    if not spec.contacts:
        flow = maker.make(structure, name, termination=termination)
        return [(f"charge transfer {name} ({len(structure)} atoms)", flow)]
    from ionflow.workflows.contact_scan import ContactScanMaker  # deferred: engines (torch, GPAW), ~5 s

    model = with_polarity(InterfaceModel(structure, termination, {}, {}), "c")
    barriers = ENGINES[spec.engine].barrier_maker(spec)
    scan = ContactScanMaker(charge_maker=maker, changes=CONTACT_CHANGES, barrier_maker=barriers)
    return [(f"contact scan: {label}", flow) for label, flow in scan.labelled_flows(model, name)]
