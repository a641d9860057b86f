#!/bin/sh
# Browser for the report test (tests/test_report.py): headless Chromium and its WebDriver from
# Debian's packages (root or sudo). Where they cannot be installed the test is skipped with the reason.
set -e
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium already installed: $(command -v chromium)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
chromedriver --version
