#!/usr/bin/env bash
# The `cluster` tests (tests/test_cluster.py) when a single-node Slurm can be started here.
#
# Starts Slurm with scripts/start_test_slurm.sh (root: installs slurm-wlm and munge if absent)
# and runs `python -m pytest -q -m cluster`. Where Slurm cannot be started (not root, no apt,
# daemons that do not come up) or ABINIT is absent, it says why and exits 0: the tests are
# then not run, as the README's test command documents. A failing cluster test fails.
#
#     sh scripts/cluster_tests.sh
set -u
cd "$(dirname "$0")/.."
if ! command -v abinit >/dev/null 2>&1; then
    echo "cluster tests not run: abinit is not installed (scripts/install_abinit.sh)"
    exit 0
fi
if ! bash scripts/start_test_slurm.sh; then
    echo "cluster tests not run: a single-node Slurm could not be started here (see above)"
    exit 0
fi
exec python -m pytest -q -m cluster tests/test_cluster.py
