"""(Re)write the checksum manifest MANIFEST.sha256 of a kernel data folder (docs/kernel.md, "What is checked").

    python scripts/kernel_manifest.py [FOLDER]     # default: the shipped WSe2 data

Run it after a deliberate change of the folder's q_* files (a recomputed or added q); the kernel engine
refuses a folder whose files do not match its manifest. ``sha256sum -c MANIFEST.sha256`` checks it too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from phonomag.engines.kernel.data import kernel_files, write_manifest

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "phonomag" / "data" / "response" / "WSe2_soc_dfpt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=SHIPPED, help="folder of q_*.nc (and q_*_DDB) files")
    args = parser.parse_args()
    path = write_manifest(args.folder)
    print(f"{path}: {len(kernel_files(args.folder))} files")


if __name__ == "__main__":
    main()
