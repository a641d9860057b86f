"""phonomag: phonon-induced charge and spin densities in crystals with spin-orbit coupling.

See DESIGN.md (shared with the project) for the equations and conventions: the
one-sided 2x2 charge-spin response N_qν of Iturbe-Beristain, Eiguren, Gurtubay,
Commun. Phys. 3, 22 (2020).
"""

__version__ = "0.1.0"
