"""The first-principles engine: ABINIT DFPT with spin–orbit coupling and the paper's eq. 1."""
