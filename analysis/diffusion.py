"""Diffusivity and conductivity of a hop network: a single carrier's random walk, solved exactly.

The carrier (a vacancy of the species, in the dilute limit) jumps along the network's hops at
the transition-state-theory rate k = nu* exp(-E_KRA / kB T) with one attempt frequency nu*
for every hop. For a random walk on a periodic network the long-time diffusion tensor is exact
(no kinetic Monte Carlo noise, however stiff the rates): with the sites of one cell, the
stationary occupation pi (uniform here: E_KRA rates are symmetric, so every site of the
sublattice counts as one energy), v_i = sum_j k_ij dr_ij the mean velocity out of site i, and
g solving L g = v on the network's generator L (L f(i) = sum_j k_ij (f(j) - f(i))),

    D = 1/2 sum_i pi_i sum_j k_ij dr_ij dr_ij^T + sym(sum_i pi_i v_i g_i^T)

(the second term, never positive, is the back-correlation of sites whose neighbours are not
arranged symmetrically; it vanishes on a Bravais lattice, where D = z k l^2 / 6, and on a chain
with alternating barriers it gives the exact a^2 / (N sum_b 1/k_b)). The conductivity is
Nernst-Einstein's for the stated carrier concentration, sigma = n q^2 D / (kB T).

Approximations, said in every output: dilute carriers (no blocking, no carrier-carrier
interaction), uncorrelated hops (no Haven ratio: tracer and charge diffusion taken as one), one
attempt frequency, and the sites of the sublattice taken as one energy.
"""

from __future__ import annotations

import numpy as np

from ionflow.analysis.schemas import DiffusionEstimate, Diffusivity

KB_EV = 8.617333262e-5
"""Boltzmann's constant (eV/K)."""
KB_J = 1.380649e-23
"""Boltzmann's constant (J/K)."""
E_CHARGE = 1.602176634e-19
"""The elementary charge (C)."""
ATTEMPT_FREQUENCY = 1e13
"""Hz: a typical optical-phonon frequency, the usual attempt frequency of an ionic hop."""
TEMPERATURES_C = (25.0, 55.0)
"""°C: room temperature and a battery's warm operating point."""
ARRHENIUS_TEMPERATURES_C = (0.0, 25.0, 55.0, 100.0, 150.0)
"""°C: the points of an Arrhenius plot unless told."""
CARRIER_FRACTION = 0.01
"""Carriers (vacancies) per site of the species unless told: 1 %, a dilute carrier population."""


def diffusion_tensor(n_sites: int, jumps: list[tuple[int, int, np.ndarray, float]]) -> np.ndarray:
    """The long-time diffusion tensor (Å²/s) of one carrier on a periodic network of ``n_sites``
    sites per cell; ``jumps``: (from site, to site, Cartesian displacement in Å, rate in 1/s),
    every jump listed with its reverse (module notes)."""
    generator = np.zeros((n_sites, n_sites))
    velocity = np.zeros((n_sites, 3))
    second = np.zeros((3, 3))
    for i, j, dr, rate in jumps:
        generator[i, j] += rate
        generator[i, i] -= rate
        velocity[i] += rate * dr
        second += rate * np.outer(dr, dr)
    occupation = 1.0 / n_sites
    # L g = v: L is singular (constants), one null vector per connected part; v lies in its
    # range, so the least-squares solution is a solution
    correction = np.linalg.lstsq(generator, velocity, rcond=None)[0]
    cross = occupation * velocity.T @ correction
    return 0.5 * occupation * second + 0.5 * (cross + cross.T)


def network_jumps(graph, barriers: dict[int, float], temperature: float, attempt_frequency: float):
    """The carrier's jumps on the hops of ``graph`` (a MigrationGraph) that have a barrier
    (``barriers``: hop label -> E_KRA in eV), both ways, at ``temperature`` (K)."""
    jumps = []
    for u, v, data in graph.m_graph.graph.edges(data=True):
        barrier = barriers.get(data["hop_label"])
        if barrier is None:
            continue
        rate = attempt_frequency * np.exp(-barrier / (KB_EV * temperature))
        dr = np.asarray(data["epos_cart"]) - np.asarray(data["ipos_cart"])
        jumps += [(u, v, dr, rate), (v, u, -dr, rate)]
    return jumps


def estimate(
    graph,
    barriers: dict[int, float],
    temperatures_c: list[float],
    carrier_fraction: float,
    attempt_frequency: float = ATTEMPT_FREQUENCY,
) -> DiffusionEstimate:
    """D(T) and sigma(T) of the species of ``graph`` (its sites per cell and cell volume give the
    carrier density) on the hops with a barrier."""
    structure = graph.m_graph.structure
    density = carrier_fraction * len(structure) / (structure.volume * 1e-24)  # per cm³
    rows = []
    for celsius in temperatures_c:
        kelvin = celsius + 273.15
        tensor = diffusion_tensor(len(structure), network_jumps(graph, barriers, kelvin, attempt_frequency))
        principal = sorted((float(x) * 1e-16 for x in np.linalg.eigvalsh(tensor)), reverse=True)  # cm²/s
        average = float(np.trace(tensor)) / 3 * 1e-16
        sigma = density * E_CHARGE**2 * average / (KB_J * kelvin)  # (1/cm³) C² (cm²/s) / J = S/cm
        rows.append(
            Diffusivity(
                temperature_c=celsius,
                diffusivity=average,
                principal_diffusivities=[max(p, 0.0) for p in principal],
                conductivity=sigma,
            )
        )
    activation = None
    low, high = min(rows, key=lambda r: r.temperature_c), max(rows, key=lambda r: r.temperature_c)
    if high.temperature_c > low.temperature_c and low.diffusivity > 0:
        inverse = 1 / (low.temperature_c + 273.15) - 1 / (high.temperature_c + 273.15)
        activation = KB_EV * float(np.log(high.diffusivity / low.diffusivity)) / inverse
    return DiffusionEstimate(
        carrier_fraction=carrier_fraction,
        carrier_density=density,
        attempt_frequency=attempt_frequency,
        temperatures=rows,
        activation_energy=activation,
    )
