"""ABINIT: input files, the runner, and readers of its DDB, wavefunction and density files."""
