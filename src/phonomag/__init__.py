"""phonomag: phonon-induced charge and spin densities in crystals with spin-orbit coupling.

See docs/physics.md for the equations, units and sign conventions: the
one-sided 2x2 charge-spin response N_qν of Iturbe-Beristain, Eiguren, Gurtubay,
Commun. Phys. 3, 22 (2020).
"""

__version__ = "0.1.0"
