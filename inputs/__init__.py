"""Model builders for ionflow: anti-perovskite bulk, carbon, heterointerfaces,
dual-ion conductors and migration hops, plus the calculator presets shipped as data."""
