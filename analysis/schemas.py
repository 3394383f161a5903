"""Output documents of the flows (pydantic), the same whichever engine made the numbers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, Field


def result_key(*parts) -> str:
    """Stable 20-character identity of a result from JSON-able ``parts``."""
    return hashlib.sha1(json.dumps(list(parts), sort_keys=True).encode()).hexdigest()[:20]


ONE_MINIMUM = 0.5
"""Å: a hopping ion closer than this between its relaxed end points has no hop to make (the
end points relaxed into one minimum, e.g. onto the site between them)."""


def kra_barrier(forward: float, delta_e: float) -> float:
    """E_KRA = Ea_fwd - ΔE/2 (eV): the barrier with the hop's reaction energy taken out."""
    return forward - 0.5 * delta_e


BAND_NOISE = 0.005
"""eV: how finely a band's energies resolve a saddle (a climbing image converged to 0.05 eV/Å
sits within about F²/2k, a few meV, of its saddle): a highest image less than this above an end
point, with the other end lower still, is that end point's level: the band runs downhill from it."""


def side_minima(energies: list[float]) -> tuple[int, tuple[int, float], tuple[int, float]]:
    """The band's highest image (an end point, where the highest interior image lies within
    :data:`BAND_NOISE` of it and the band falls from it to the other end), and on each side of it
    (the initial's, the final's) its lowest image with how far (eV) that lies below the side's
    end point (0: the end point is lowest)."""
    e = [float(x) for x in energies]
    top = max(range(len(e)), key=e.__getitem__)
    for end, other in ((0, -1), (len(e) - 1, 0)):
        if e[top] - e[end] < BAND_NOISE and e[other] < e[end] - BAND_NOISE:
            top = end
    left = min(range(top + 1), key=e.__getitem__)
    right = min(range(top, len(e)), key=e.__getitem__)
    return top, (left, e[0] - e[left]), (right, e[-1] - e[right])


class Provenance(BaseModel):
    """Where a result came from."""

    flow_uuid: str | None = None
    job_uuid: str | None = None
    source_files: list[str] = Field(default_factory=list)
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))


class MigrationBarrierDoc(BaseModel):
    """Climbing-image NEB result for one hop.

    Energies are total energies (eV) of the images, end points included. The forward
    barrier is measured from the initial end point, the reverse one from the final.
    """

    host: str
    species: str
    hop_id: str
    location: str = Field("bulk", description="bulk, interface or slab-centre")
    bulk_sites: str = Field(
        "",
        description="an AP vacancy hop in its bulk cell's site labels (Li site > O site and the vacant "
        "corner's axis): a slab-centre hop is checked against the bulk hop with the same key (like for "
        "like); empty for hops that copy no bulk hop",
    )
    hop_length: float = Field(description="distance between the two sites (Å)")
    hop_fingerprint: str = Field("", description="hash of the hop's end points")
    relaxed_hop_length: float | None = Field(
        None,
        description="distance (Å) of the hopping ion between the relaxed end points; below "
        "ONE_MINIMUM both relaxed into one minimum: no hop, no NEB run",
    )
    energies: list[float]
    forward_barrier: float = Field(description="E_saddle - E_initial (eV)")
    reverse_barrier: float = Field(description="E_saddle - E_final (eV)")
    delta_e: float = Field(description="E_final - E_initial (eV)")
    kra_barrier: float | None = Field(
        None,
        description="kinetically resolved activation barrier E_KRA = Ea_fwd - ΔE/2 = (Ea_fwd + Ea_rev)/2 "
        "(eV; Van der Ven et al., PRB 64, 184307 (2001)): the same both ways along the hop, so hops "
        "whose end points differ in energy are compared by it, not by the forward barrier",
    )
    site_drift: list[float] | None = Field(
        None,
        description="Å: how far the moving ion sits from its cut site in the relaxed initial and final "
        "end points (the cell's rigid shift taken out); an end point that drifted past the settings' "
        "end_point_site_drift was searched again with the ion pinned at its site, and the lower minimum "
        "on the site kept",
    )
    saddle_image: int = Field(description="index of the highest image")
    saddle_interior: bool = Field(
        True, description="the highest image lies between the end points (else the path runs downhill)"
    )
    end_point_drop: float = Field(
        0.0,
        description="how far (eV) the lowest image on either side of the saddle lies below that side's end "
        "point; > 0 means an end point is not the minimum of the band",
    )
    converged: bool
    engine: str
    settings: dict = Field(default_factory=dict)
    force_calls: int = Field(description="engine force evaluations, end-point relaxations included")
    wall_time_s: float
    recut_from_image: int | None = Field(
        None,
        description="the first band showed an end point was no minimum; that end point was re-relaxed "
        "from this image of it and the band run again (the energies are the second band's)",
    )
    resumed_at_step: int = Field(
        0,
        description="optimizer steps of the band before an interruption; it resumed from its checkpoint",
    )
    force_calls_before_resume: int = Field(
        0, description="force evaluations of the band before the interruption (included in force_calls)"
    )
    band: dict | None = Field(
        None,
        description="the converged band, emmet's NebResult as a dict (images, energies, barrier analysis); "
        "kept in the data store beside the results (jobflow's additional store 'data'), not in the results",
    )
    provenance: Provenance = Field(default_factory=Provenance)

    LARGE_FIELDS: ClassVar[tuple[str, ...]] = ("band",)

    @property
    def result_id(self) -> str:
        """Identity of the result: the same hop on the same engine with the same settings."""
        return result_key(self.hop_fingerprint, self.host, self.hop_id, self.engine, self.settings)

    @classmethod
    def from_hop(cls, energies: list[float], hop: dict, **fields) -> MigrationBarrierDoc:
        """:meth:`from_energies` with the hop's identity taken from ``HopPath.as_dict()``."""
        return cls.from_energies(
            energies,
            host=hop["host"],
            species=hop["species"],
            hop_id=hop["hop_id"],
            location=hop["location"],
            bulk_sites=hop.get("bulk_sites", ""),
            hop_length=hop["length"],
            hop_fingerprint=hop["fingerprint"],
            **fields,
        )

    @classmethod
    def from_energies(cls, energies: list[float], **fields) -> MigrationBarrierDoc:
        """Build the document from the image energies along the converged band."""
        e = [float(x) for x in energies]
        top, (_, initial_drop), (_, final_drop) = side_minima(e)
        return cls(
            energies=e,
            forward_barrier=e[top] - e[0],
            reverse_barrier=e[top] - e[-1],
            delta_e=e[-1] - e[0],
            kra_barrier=kra_barrier(e[top] - e[0], e[-1] - e[0]),
            saddle_image=top,
            saddle_interior=0 < top < len(e) - 1,
            end_point_drop=max(initial_drop, final_drop),
            **fields,
        )


class BaderChargesDoc(BaseModel):
    """Bader partition of a charge density.

    ``electrons`` are the electrons in each atom's Bader volume; ``net_charges`` are
    ``reference_electrons - electrons`` (positive: the atom lost electrons), where the
    reference is the atom's valence (VASP ZVAL with AECCAR0+2 or CHGCAR valence densities) or
    its atomic number (the embedded engine's all-electron density). Either way the net charges
    are the same oxidation-state-like numbers.
    """

    formula: str
    species: list[str]
    regions: list[str] | None = None
    electrons: list[float]
    reference_electrons: list[float]
    net_charges: list[float]
    total_electrons: float = Field(description="electrons in all Bader volumes plus vacuum")
    expected_electrons: float = Field(description="electrons the density should hold")
    vacuum_electrons: float = 0.0
    method: str
    engine: str
    source_files: list[str] = Field(default_factory=list)

    @classmethod
    def from_partition(
        cls, structure, partition, reference: list[float], regions: list[str] | None, **fields
    ) -> BaderChargesDoc:
        """From a Bader partition (``ionflow.analysis.bader.BaderPartition``) of ``structure``."""
        return cls(
            formula=structure.composition.reduced_formula,
            species=[site.specie.symbol for site in structure],
            regions=regions,
            electrons=[float(x) for x in partition.electrons],
            reference_electrons=[float(x) for x in reference],
            net_charges=[float(r - e) for r, e in zip(reference, partition.electrons, strict=True)],
            total_electrons=partition.total_electrons,
            vacuum_electrons=partition.vacuum_electrons,
            source_files=[partition.source],
            **fields,
        )

    def region_charges(self) -> dict[str, float]:
        """Net charge (e) summed per region; positive: the region lost electrons."""
        if not self.regions:
            return {}
        out: dict[str, float] = {}
        for region, q in zip(self.regions, self.net_charges, strict=True):
            out[region] = out.get(region, 0.0) + q
        return out

    def species_mean(self) -> dict[str, float]:
        """Mean net charge (e) of each species."""
        sums: dict[str, list[float]] = {}
        for sp, q in zip(self.species, self.net_charges, strict=True):
            sums.setdefault(sp, []).append(q)
        return {sp: sum(v) / len(v) for sp, v in sums.items()}


class CompletedFlowRecord(BaseModel):
    """A flow of ``ionflow run`` whose results are stored: saved in the same write as those
    results, so a rerun after an interruption skips it (the key covers the run's spec, its
    structures, the bundled presets and the flow's label)."""

    flow_key: str
    label: str
    result_ids: list[str]
    jobs: int
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def result_id(self) -> str:
        """The flow's key: one record per flow and inputs."""
        return self.flow_key


class PotentialProfileDoc(BaseModel):
    """Planar average along c of the potential energy of an electron (eV) in a static run and,
    for a slab with vacuum, its vacuum level and work function (vacuum level minus Fermi level)."""

    z: list[float] = Field(description="heights along c (Å)")
    planar: list[float] = Field(description="planar average at each height (eV)")
    vacuum_gap: float = Field(description="widest gap between atomic planes along c (Å)")
    vacuum_level: float | None = Field(None, description="the potential in the vacuum (eV); None: no vacuum")
    vacuum_flat: bool | None = Field(
        None, description="the potential is flat in the vacuum (pymatgen's check)"
    )
    fermi_level: float | None = Field(None, description="from the run's OUTCAR (eV)")
    work_function: float | None = Field(None, description="vacuum level minus Fermi level (eV)")


class StaticRunDoc(BaseModel):
    """Bader charges and potential profile of a finished static run of any material (VASP
    CHGCAR with AECCAR0/2 or an ACF.dat, LOCPOT, OUTCAR): what ``ionflow parse charges``
    stores for a run that is not an AP/carbon interface."""

    run: str
    fingerprint: str = Field(description="hash of the run's atoms")
    formula: str
    n_atoms: int
    bader: BaderChargesDoc | None = None
    potential: PotentialProfileDoc | None = None
    energy: float | None = None
    converged: bool | None = None
    engine: str
    settings: dict = Field(default_factory=dict)
    force_calls: int = 0
    wall_time_s: float = 0.0
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def result_id(self) -> str:
        """Identity: the same atoms under the same name on the same engine with the same settings."""
        return result_key(self.run, self.fingerprint, self.engine, self.settings)


class InterfaceChargeTransferDoc(BaseModel):
    """Charge transfer and built-in field across an AP/carbon interface.

    Sign conventions: ``electrons_to_carbon`` > 0 when electrons moved from the AP side to the
    carbon side (the carbon region's Bader net charge is then negative); ``field`` > 0 when the
    field points from AP to carbon.
    """

    interface: str
    termination: str = ""
    stack: str = Field(
        "", description="the AP slab: 'non-polar (Tasker I/II)' or 'polar stack' (computed on request)"
    )
    fingerprint: str = Field("", description="hash of the input structure")
    formula: str
    n_atoms: int
    bader: BaderChargesDoc
    region_charges: dict[str, float]
    electrons_to_carbon: float
    potential_step: float = Field(
        description="macroscopic average of the electron potential energy, carbon plane minus AP centre (eV)"
    )
    field: float | None = Field(
        None,
        description="field from the AP top plane to the carbon plane (V/Å), difference potential",
    )
    dipole_step: float | None = Field(
        None, description="jump of the difference potential across the interface (eV): the interface dipole"
    )
    reference_steps: dict[str, float] = Field(
        default_factory=dict,
        description="each separated side's own vacuum step at the same heights (eV): the AP slab's dipole",
    )
    profile: dict[str, list[float]] = Field(
        default_factory=dict, description="z (Å), planar and macroscopic averages, difference (eV)"
    )
    z_planes: dict[str, float] = Field(
        default_factory=dict, description="AP centre, AP top and carbon plane (Å; a tube: its wall facing AP)"
    )
    carbon_shape: str = Field(
        "sheet",
        description="'sheet' (graphene: planar averages) or 'tube' (a CNT: averages along the tube "
        "over a column through its axis, normal to the slab)",
    )
    energy: float
    converged: bool
    engine: str
    settings: dict = Field(default_factory=dict)
    force_calls: int = 0
    wall_time_s: float
    provenance: Provenance = Field(default_factory=Provenance)

    @classmethod
    def from_parts(cls, structure, bader: BaderChargesDoc, summary: dict, meta: dict, **fields):
        """Assemble the document: region charges from ``bader``, the potential ``summary``
        (:func:`ionflow.analysis.potential.potential_summary`) and the flow's ``meta``."""
        regions = bader.region_charges()
        return cls(
            interface=meta.get("name", "interface"),
            termination=meta.get("termination", ""),
            stack=meta.get("stack", ""),
            fingerprint=meta.get("fingerprint", ""),
            formula=structure.composition.reduced_formula,
            n_atoms=len(structure),
            bader=bader,
            region_charges=regions,
            electrons_to_carbon=-regions["carbon"],
            **summary,
            **fields,
        )

    @property
    def result_id(self) -> str:
        """Identity: the same input structure and name on the same engine with the same settings."""
        return result_key(self.interface, self.fingerprint, self.termination, self.engine, self.settings)


APPROXIMATIONS = (
    "dilute carriers, uncorrelated hops (Haven ratio 1), one attempt frequency, "
    "the species' sites as one energy"
)
"""What a diffusivity estimate assumes (:mod:`ionflow.analysis.diffusion`), printed with it."""


class NetworkHop(BaseModel):
    """One symmetry-distinct hop of the network and the barrier it enters with."""

    hop_id: str
    length: float = Field(description="Å")
    barrier: float | None = Field(None, description="E_KRA (eV); None: not in the network")
    engine: str = ""
    note: str = ""


class Percolation(BaseModel):
    """The lowest barrier at which the network reaches a dimension, and the hop that completes it."""

    dimension: int = Field(description="1: channels, 2: layers, 3: bulk")
    barrier: float | None = Field(None, description="eV; None: not reached by the hops computed")
    hop_id: str = ""


class Diffusivity(BaseModel):
    """D and sigma of one species at one temperature."""

    temperature_c: float = Field(description="°C")
    diffusivity: float = Field(description="orientational average D = trace/3 (cm²/s)")
    principal_diffusivities: list[float] = Field(
        description="the tensor's eigenvalues, largest first (cm²/s)"
    )
    conductivity: float = Field(
        description="Nernst-Einstein sigma at the stated carrier concentration (S/cm)"
    )


class DiffusionEstimate(BaseModel):
    """Diffusivity and conductivity of one species from its hop network (module notes)."""

    carrier_fraction: float = Field(description="carriers (vacancies) per site of the species")
    carrier_density: float = Field(description="carriers per cm³")
    attempt_frequency: float = Field(description="Hz")
    approximations: str = APPROXIMATIONS
    temperatures: list[Diffusivity]
    activation_energy: float | None = Field(
        None, description="eV: the Arrhenius slope of D between the lowest and highest temperature"
    )


class TransportDoc(BaseModel):
    """The hop network of one species in one host: its hops and its percolation barriers."""

    host: str
    species: str
    sublattice: str = Field(
        "", description="the species whose sites form the network (the species' own, or a host's)"
    )
    cutoff: float = Field(description="longest hop in the network (Å)")
    hops: list[NetworkHop]
    percolation: list[Percolation]
    complete: bool = Field(
        description="every hop of the network has a barrier (else the barriers are upper bounds)"
    )
    diffusion: DiffusionEstimate = Field(description="D(T) and sigma(T) on the same hops")

    @property
    def result_id(self) -> str:
        """One network document per host, species and cutoff: recomputed, it replaces the last."""
        return result_key("transport", self.host, self.species, self.sublattice, round(self.cutoff, 3))
