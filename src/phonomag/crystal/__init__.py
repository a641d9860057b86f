"""The crystal: material model files, orbital names, q-points and high-symmetry paths."""
