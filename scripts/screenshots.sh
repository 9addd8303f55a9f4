#!/usr/bin/env bash
# Regenerates the web UI screenshots in docs/screenshots/ (1280 and 390 px) by running the
# browser test with BERTH_SCREENSHOTS set: the images are the test run's, never edited by hand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run build
BERTH_BIN="$PWD/dist/berth" BERTH_SCREENSHOTS="$PWD/docs/screenshots" node_modules/.bin/bun test --timeout 180000 tests/ui/browser.test.ts
