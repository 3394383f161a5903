"""The contact's chemistry as a scan: the charge-transfer flow on each variant of one
AP/carbon contact (:mod:`ionflow.inputs.contacts`), so that the table shows which contact, if
any, moves electrons from the AP to the carbon, and which field comes with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobflow import Flow, Maker

from ionflow.inputs.contacts import AS_BUILT, CONTACT_CHANGES, DEFECTS, contact_variants
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import InterfaceModel
from ionflow.workflows.base import BaseChargeTransferMaker
from ionflow.workflows.charge_transfer import ChargeTransferMaker


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
    """

    name: str = "contact scan"
    charge_maker: BaseChargeTransferMaker = field(default_factory=ChargeTransferMaker)
    changes: tuple[str, ...] = CONTACT_CHANGES

    def make(self, model: InterfaceModel, interface: str) -> Flow:
        """One charge-transfer flow per variant; the output is their documents' list."""
        if model.polarity is not None and model.polarity.polar and not self.charge_maker.allow_polar:
            raise InputError(
                interface,
                "is a polar stack: its variants would show its dipole, not their contacts",
                "scan a non-polar interface (ionflow build interface --non-polar)",
            )
        flows = [
            self.charge_maker.make(
                variant.structure,
                variant_name(interface, change),
                model.termination,
                defect=DEFECTS.get(change, ""),
            )
            for change, variant in contact_variants(model, self.changes).items()
        ]
        return Flow(flows, output=[f.output for f in flows], name=f"{self.name} {interface}")


__all__ = ["ContactScanMaker", "variant_name"]
