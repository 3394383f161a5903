"""Output documents of the flows (pydantic), the same whichever engine made the numbers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from pydantic import BaseModel, Field


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
    hop_length: float = Field(description="distance between the two sites (Å)")
    hop_fingerprint: str = Field("", description="hash of the hop's end points")
    energies: list[float]
    forward_barrier: float = Field(description="E_saddle - E_initial (eV)")
    reverse_barrier: float = Field(description="E_saddle - E_final (eV)")
    delta_e: float = Field(description="E_final - E_initial (eV)")
    saddle_image: int = Field(description="index of the highest image")
    converged: bool
    engine: str
    settings: dict = Field(default_factory=dict)
    force_calls: int = Field(description="engine force evaluations, end-point relaxations included")
    wall_time_s: float
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def result_id(self) -> str:
        """Identity of the result: the same hop on the same engine with the same settings."""
        key = json.dumps(
            [self.hop_fingerprint, self.host, self.hop_id, self.engine, self.settings], sort_keys=True
        )
        return hashlib.sha1(key.encode()).hexdigest()[:20]

    @classmethod
    def from_energies(cls, energies: list[float], **fields) -> MigrationBarrierDoc:
        """Build the document from the image energies along the converged band."""
        e = [float(x) for x in energies]
        top = max(range(len(e)), key=e.__getitem__)
        return cls(
            energies=e,
            forward_barrier=e[top] - e[0],
            reverse_barrier=e[top] - e[-1],
            delta_e=e[-1] - e[0],
            saddle_image=top,
            **fields,
        )
