"""Born effective charges and dielectric tensor for phonopy's non-analytic correction (NAC).

For phonons from ABINIT DDB files, the field elements of the same DFPT (:func:`set_ddb_born_charges`). Otherwise,
sources in order: the ``born`` key of a ``source = "phonopy"`` table (a phonopy BORN file,
charges of the symmetry-independent atoms in e, ε∞ dimensionless), or the NAC parameters
stored in the phonopy_params.yaml that holds the force constants. phonopy then adds the
non-analytic term of the dynamical matrix near Γ (its 3D form: for a layer in a vacuum cell
the dielectric tensor of the padded cell enters). A crystal with more than one species is
treated as polar: when no Born charges are given a warning says the correction is left out.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from phonopy import Phonopy
from phonopy.file_IO import parse_BORN
from phonopy.interface.calculator import get_calculator_physical_units
from phonopy.interface.phonopy_yaml import read_phonopy_yaml

from phonomag.errors import PhononSourceError
from phonomag.io.abinit.ddb import read_dielectric


def set_born_charges(ph: Phonopy, config: dict, base_dir: Path, force_file: Path) -> str:
    """Give ``ph`` its NAC parameters if any are available; return a note for the engine description."""
    if "born" in config:
        path = Path(base_dir) / str(config["born"])
        if not path.is_file():
            raise PhononSourceError(f"[phonons] born = {config['born']!r}: file {path} does not exist")
        try:
            ph.nac_params = parse_BORN(ph.primitive, filename=path)
        except Exception as exc:  # phonopy's parser raises many kinds for a bad file
            raise PhononSourceError(f"could not read BORN file {path}: {type(exc).__name__}: {exc}") from None
        return f", Born charges and dielectric tensor from {path}"
    if "phonopy_yaml" in config:
        stored = read_phonopy_yaml(force_file).nac_params
        if stored is not None:
            ph.nac_params = stored
            return ", Born charges and dielectric tensor from the same file"
    species = sorted(set(ph.primitive.symbols))
    if len(species) > 1:
        warnings.warn(
            f"no Born charges or dielectric tensor for this polar crystal ({', '.join(species)}): the "
            "non-analytic correction (LO–TO splitting near Γ) is left out; give born = \"BORN\" in [phonons] "
            "or store them in the phonopy_params.yaml", stacklevel=4)
    return ""


def set_ddb_born_charges(ph: Phonopy, paths: list[Path]) -> str:
    """Give ``ph`` the non-analytic correction from the Born charges and ε∞ of the DDB files, if they hold the
    electric-field elements (charge neutrality imposed as anaddb does, ``chneut 1``); a note for the description."""
    tensors = read_dielectric(paths)
    if tensors is None:
        return ""
    violation = np.abs(tensors.neutrality_violation()).max()
    neutral = tensors.charge_neutral()
    factor = get_calculator_physical_units(ph.calculator)["nac_factor"]  # e²/(4πε₀) in the force constants' units
    ph.nac_params = {"born": neutral.born, "dielectric": neutral.epsilon, "factor": factor}
    return (f"; LO–TO splitting from the Born charges and ε∞ of the same DFPT (charge neutrality imposed, raw "
            f"violation {violation:.2g} e)")
