"""The crystal: a Crystal that knows its lattice (dimensionality, symmetry, high-symmetry points and
paths), materials, orbital names and q-points."""
