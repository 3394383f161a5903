"""The two studies' flows, engine-agnostic: each engine subclasses these (atomate2's
``common/flows`` pattern): ``migration.py``/``charge_transfer.py`` for the embedded engine,
``vasp.py`` for VASP.

A subclass supplies the engine's jobs; the base fixes the flow's shape, its names and its
output (a :class:`~ionflow.analysis.schemas.MigrationBarrierDoc` per hop, an
:class:`~ionflow.analysis.schemas.InterfaceChargeTransferDoc` per interface).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from jobflow import CURRENT_JOB, Flow, Job, Maker
from pymatgen.core import Structure

from ionflow.inputs.checks import structure_fingerprint
from ionflow.inputs.errors import InputError
from ionflow.inputs.hops import HopPath
from ionflow.inputs.interface import REGION
from ionflow.inputs.polarity import POLAR_STACK, region_polarity

SIDES = ("AP", "carbon")
"""The two regions of an AP/carbon interface."""
AP_PERIOD = 3.9
"""Å: one anti-perovskite cell along [001], the window of the macroscopic average of the
potential across an AP/carbon interface."""


def current_job_uuid() -> str | None:
    """UUID of the running jobflow job, if any (the documents' provenance)."""
    return CURRENT_JOB.job.uuid if CURRENT_JOB.job is not None else None


def check_interface(structure: Structure, source: str = "interface") -> list[str]:
    """The ``region`` labels of an AP/carbon interface, or a clear error."""
    regions = structure.site_properties.get(REGION)
    if regions is None:
        raise InputError(
            source,
            "has no 'region' site property",
            "build it with `ionflow build interface` (JSON keeps regions)",
        )
    missing = [side for side in SIDES if side not in regions]
    if missing:
        raise InputError(source, f"has no {', '.join(missing)} region", "give an AP/carbon interface")
    return list(regions)


@dataclass
class BaseMigrationBarrierMaker(Maker, ABC):
    """One hop's barrier: relax both end points -> a band between them (IDPP, or a warm start)
    -> CI-NEB -> the barrier document. Subclasses give the engine's jobs."""

    name: str = "migration barrier"

    @abstractmethod
    def end_point_jobs(self, hop: HopPath) -> tuple[list[Job], Any]:
        """The jobs that relax the hop's end points, and what the band jobs read of them."""

    @abstractmethod
    def band_jobs(self, hop: HopPath, end_points: Any) -> tuple[list[Job], Any]:
        """The jobs from the relaxed end points to the barrier, and the reference to its document."""

    def check_hop(self, hop: HopPath) -> None:
        """Raises an InputError, before any job exists, when the engine cannot treat ``hop``'s
        cell (nothing to check by default)."""

    def make(self, hop: HopPath) -> Flow:
        """The flow for ``hop``; its output is a :class:`MigrationBarrierDoc`."""
        self.check_hop(hop)
        relax, end_points = self.end_point_jobs(hop)
        band, document = self.band_jobs(hop, end_points)
        return Flow([*relax, *band], output=document, name=f"{self.name} {hop.host} {hop.hop_id}")


@dataclass
class BaseChargeTransferMaker(Maker, ABC):
    """Charge transfer across one AP/carbon interface: relax (fixed cell, bottom of the AP
    slab fixed; optional) -> static runs writing density and potential (the interface, and
    with ``references`` the separated AP slab and carbon in the same cell) -> Bader per
    region, potential step and built-in field. Subclasses give the engine's jobs.

    Parameters
    ----------
    name
        Flow name.
    relax
        Relax the interface first.
    references
        Also run the separated sides (the field then comes from the difference potential).
    allow_polar
        Run a polar AP stack (Tasker III) too; refused by default, since its carbon charge and
        field compensate the stack's dipole instead of showing the contact. Its row says so.
    """

    name: str = "charge transfer"
    relax: bool = True
    references: bool = True
    allow_polar: bool = False

    def prepared(self, structure: Structure) -> Structure:
        """The interface as the engine runs it (VASP sorts species); unchanged by default."""
        return structure

    @abstractmethod
    def relax_job(self, structure: Structure, interface: str) -> Job:
        """The interface's relaxation."""

    @abstractmethod
    def unrelaxed(self, structure: Structure) -> Any:
        """What the static jobs read in place of a relaxation's output when ``relax`` is off."""

    @abstractmethod
    def static_jobs(
        self, structure: Structure, relaxed: Any, parts: tuple[str, ...], interface: str
    ) -> list[Job]:
        """One static job per part ("interface", then the ``SIDES`` when ``references``)."""

    @abstractmethod
    def analysis_job(
        self, structure: Structure, relaxed: Any, statics: list[Job], meta: dict[str, str]
    ) -> Job:
        """Bader charges, potential and the document, from the static jobs' outputs."""

    def make(
        self, structure: Structure, interface: str = "interface", termination: str = "", defect: str = ""
    ) -> Flow:
        """The flow for one interface; its output is an :class:`InterfaceChargeTransferDoc`.

        ``defect``: a contact made off-stoichiometric on purpose (a Li interstitial or vacancy
        at the contact, :mod:`ionflow.inputs.contacts`, on a non-polar slab): its AP side's
        net formal charge is the defect's, not a polar stack's; the row says which defect."""
        check_interface(structure, interface)
        polarity = region_polarity(structure, "AP", interface)
        if polarity.polar and not self.allow_polar and not defect:
            raise InputError(
                interface,
                f"is a polar stack (Tasker III: AP planes {polarity.stack(', ')}; dipole "
                f"{polarity.dipole_per_area:+.3f} e/Å): its transfer would compensate that dipole",
                "build it non-polar (ionflow build interface --non-polar: another stacking axis or "
                "vacancy arrangement, or a symmetric slab), or pass --allow-polar to compute it anyway",
            )
        if defect:
            stack = f"{defect} at the contact (AP formal charge {polarity.net_charge:+.0f})"
        else:
            stack = POLAR_STACK if polarity.polar else f"non-polar (Tasker {polarity.tasker})"
        meta = {
            "name": interface,
            "termination": termination,
            "fingerprint": structure_fingerprint(structure, extra=interface),
            "stack": stack,
        }
        structure = self.prepared(structure)
        jobs: list[Job] = []
        if self.relax:
            relax = self.relax_job(structure, interface)
            relax.name = f"relax {interface}"
            jobs.append(relax)
            relaxed = relax.output
        else:
            relaxed = self.unrelaxed(structure)
        parts = ("interface", *(SIDES if self.references else ()))
        statics = self.static_jobs(structure, relaxed, parts, interface)
        for static, part in zip(statics, parts, strict=True):
            static.name = f"static {part} {interface}"
        analysis = self.analysis_job(structure, relaxed, statics, meta)
        analysis.name = f"charge transfer {interface}"
        return Flow([*jobs, *statics, analysis], output=analysis.output, name=f"{self.name} {interface}")


__all__ = [
    "AP_PERIOD",
    "SIDES",
    "BaseChargeTransferMaker",
    "BaseMigrationBarrierMaker",
    "check_interface",
    "current_job_uuid",
]
