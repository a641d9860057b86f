"""Response engines: the electrons' charge–spin response to unit displacement patterns."""
