"""ABINIT interface: input files, runs, and readers of its output (DDB)."""
