"""DDB reader: partial blocks of one q split over files are merged; incomplete data is refused."""

from __future__ import annotations

import re

import numpy as np
import pytest

from phonomag.crystal.materials import load_material
from phonomag.errors import PhononSourceError
from phonomag.io.abinit.ddb import read_phonon_blocks

K_DDB = load_material("WSe2").base_dir.parent / "phonons" / "WSe2_lda_dfpt" / "q7_DDB"
ELEMENT = re.compile(r"^\s*(\d)\s+(\d)\s+(\d)\s+(\d)\s+\S+\s+\S+\s*$")


def _partial(tmp_path, name, keep):
    """Copy of the K DDB keeping the elements (idir1, ipert1, idir2, ipert2) for which keep(...) is true."""
    lines = K_DDB.read_text().splitlines()
    out, kept = [], 0
    header_at = None
    for line in lines:
        match = ELEMENT.match(line)
        if match and header_at is not None:
            if keep(*map(int, match.groups())):
                out.append(line)
                kept += 1
            continue
        if "2nd derivatives" in line:
            header_at = len(out)
        out.append(line)
    out[header_at] = re.sub(r"# elements :\s*\d+", f"# elements : {kept:6d}", out[header_at])
    path = tmp_path / name
    path.write_text("\n".join(out) + "\n")
    return path


def test_rows_split_over_two_files_merge_to_the_full_block(tmp_path):
    full = read_phonon_blocks(K_DDB)
    # like two ABINIT runs perturbing W and the Se atoms: each has its rows and, by Hermiticity, its columns
    w_part = _partial(tmp_path, "w_DDB", lambda d1, p1, d2, p2: p1 == 1 or p2 == 1)
    se_part = _partial(tmp_path, "se_DDB", lambda d1, p1, d2, p2: p1 in (2, 3) or p2 in (2, 3))
    merged = read_phonon_blocks([w_part, se_part])
    assert len(merged.qpoints) == 1
    assert np.allclose(merged.matrices, full.matrices, rtol=0, atol=1e-12 * np.abs(full.matrices).max())


def test_missing_perturbations_are_refused(tmp_path):
    w_part = _partial(tmp_path, "w_DDB", lambda d1, p1, d2, p2: p1 == 1 or p2 == 1)
    with pytest.raises(PhononSourceError, match="lack phonon elements"):
        read_phonon_blocks(w_part)
