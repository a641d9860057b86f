"""Compare two results.nc files variable by variable: the largest |difference| over the largest |value|.

    python scripts/compare_results.py before/results.nc after/results.nc
"""

import sys

import numpy as np
import xarray as xr


def main() -> None:
    before, after = (xr.open_dataset(path) for path in sys.argv[1:3])
    worst = 0.0
    for name in before.data_vars:
        if name not in after.variables:
            print(f"{name:26s} missing in {sys.argv[2]}")
            continue
        old, new = before[name].values, after[name].values
        difference = np.abs(old - new).max() / max(np.abs(old).max(), 1e-300)
        worst = max(worst, difference)
        print(f"{name:26s} max|diff|/max|value| = {difference:.1e}")
    print(f"largest: {worst:.1e}; new variables: {sorted(set(after.variables) - set(before.variables))}")


if __name__ == "__main__":
    main()
