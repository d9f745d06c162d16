#!/bin/sh
# Make sure a headless Chromium is here for the HTML reports' browser tests
# (tests/test_html.py): installs Debian's chromium package when none is
# found and this is a Debian-like system where we may (root, or sudo
# without a password).  When it cannot, says so in one line and exits 0:
# those tests then skip, saying why.
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: no chromium and no apt-get: the browser tests will be skipped"
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "chromium.sh: no chromium, and installing it needs root: the browser tests will be skipped"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium >/dev/null 2>&1; then
    echo "chromium.sh: installed chromium for the browser tests"
else
    echo "chromium.sh: could not install chromium: the browser tests will be skipped"
fi
exit 0
