"""The contact's chemistry as a scan: the charge-transfer flow on each variant of one
AP/carbon contact (:mod:`ionflow.inputs.contacts`), so that the table shows which contact, if
any, moves electrons from the AP to the carbon, and which field comes with it; with a barrier
maker, also the Li+ hop next to the carbon (and, as the slab's check, in its centre) of each
variant, its host relaxed in its job (:mod:`ionflow.workflows.host_hops`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobflow import Flow, Maker

from ionflow.inputs.contacts import AS_BUILT, CONTACT_CHANGES, DEFECTS, contact_variants
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import InterfaceModel
from ionflow.workflows.base import BaseChargeTransferMaker, BaseMigrationBarrierMaker
from ionflow.workflows.charge_transfer import ChargeTransferMaker
from ionflow.workflows.host_hops import host_barriers_job, host_flow


def variant_name(interface: str, change: str) -> str:
    """The result name of one variant: the interface's own for the contact as built."""
    return interface if change == AS_BUILT else f"{interface}, {change}"


@dataclass
class ContactScanMaker(Maker):
    """Charge transfer across each contact variant of one interface, on any engine.

    Parameters
    ----------
    name
        Flow name.
    charge_maker
        The charge-transfer maker run on every variant (embedded by default; the VASP one on a
        cluster).
    changes
        The variants (:data:`~ionflow.inputs.contacts.CONTACT_CHANGES`), the built contact first.
    barrier_maker
        When given, each variant's Li+ hop next to the carbon too (host ``<host>, <variant>``),
        on this maker's engine; the contact as built also gets its slab-centre hop, which checks
        every variant's slab (a variant changes only the contact).
    """

    name: str = "contact scan"
    charge_maker: BaseChargeTransferMaker = field(default_factory=ChargeTransferMaker)
    changes: tuple[str, ...] = CONTACT_CHANGES
    barrier_maker: BaseMigrationBarrierMaker | None = None

    def make(self, model: InterfaceModel, interface: str) -> Flow:
        """One charge-transfer flow per variant (and its hops' job with a barrier maker); the
        output is their documents' list."""
        parts = [part for _, part in self.labelled_flows(model, interface)]
        return Flow(parts, output=[p.output for p in parts], name=f"{self.name} {interface}")

    def labelled_flows(
        self, model: InterfaceModel, interface: str, host: str | None = None
    ) -> list[tuple[str, Flow]]:
        """The scan's parts, each with a label, to run one after another or side by side;
        ``host``: the hops' host name of the contact as built (default ``interface``)."""
        if model.polarity is not None and model.polarity.polar and not self.charge_maker.allow_polar:
            raise InputError(
                interface,
                "is a polar stack: its variants would show its dipole, not their contacts",
                "scan a non-polar interface (ionflow build interface --non-polar)",
            )
        parts: list[tuple[str, Flow]] = []
        for change, variant in contact_variants(model, self.changes).items():
            name = variant_name(interface, change)
            defect = DEFECTS.get(change, "")
            flow = self.charge_maker.make(variant.structure, name, model.termination, defect=defect)
            atoms = len(variant.structure)
            parts.append((f"charge transfer {name} ({atoms} atoms)", flow))
            if self.barrier_maker is not None:
                built = change == AS_BUILT
                hop_host = variant_name(host or interface, change)
                cut, where = (
                    ("AP interface", "interface and slab centre") if built else ("AP contact", "interface")
                )
                hops = host_barriers_job(variant.structure, cut, hop_host, self.barrier_maker)
                label = f"Li barriers {hop_host}, {where} ({atoms} atoms)"
                parts.append((label, host_flow(hops)))
        return parts


__all__ = ["ContactScanMaker", "variant_name"]
