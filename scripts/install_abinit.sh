#!/bin/sh
# Optional first-principles engine: ABINIT 9 and its pseudopotential data (HGH set with SOC
# terms in /usr/share/abinit/psp/PseudosHGH_pwteter), plus MPI, from Debian's packages.
set -e
if command -v abinit >/dev/null 2>&1 && [ -d /usr/share/abinit/psp/PseudosHGH_pwteter ]; then
    echo "abinit already installed: $(command -v abinit)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q abinit abinit-data openmpi-bin
abinit --version
