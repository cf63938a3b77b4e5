#!/usr/bin/env bash
# Renders OUTPUT/report/report.html in headless Chromium and saves a PNG, to check
# by eye that the report draws. Needs Debian's chromium (apt-get install chromium).
#   scripts/screenshot_report.sh [OUTPUT] [PNG]
set -euo pipefail
output=${1:-output}
png=${2:-$output/report/report.png}
page="$(cd "$output/report" && pwd)/report.html"
[ -f "$page" ] || { echo "no $page: run 'pipeline_runner.py report --output $output' first" >&2; exit 2; }
command -v chromium >/dev/null || { echo "chromium is not installed: apt-get install chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1200,3400 \
  --screenshot="$(realpath -m "$png")" "file://$page" 2>/dev/null
echo "Wrote $png"
