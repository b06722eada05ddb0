#!/bin/sh
# Refreshes the README's studio screenshots (assets/screenshots/*.png) from the tour
# (tour.script) and the study (study.script) on the default demo workspace, building it
# and its ablations (`genlens demo --study`, about 20 minutes on 2 cores) first when they
# are missing:
#
#   assets/screenshots/refresh.sh [BUILD_DIR]        (default: build)
#
# The workspace is $GENLENS_DEMO_DIR (default ~/.cache/genlens/demo). The studio runs with
# HOME set to a temporary folder in which the workspace is ~/genlens-demo, so every path
# on screen reads ~/genlens-demo/..., whatever machine made the pictures.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
demo=${GENLENS_DEMO_DIR:-$HOME/.cache/genlens/demo}
if [ ! -f "$demo/report.json" ]; then
  "$build/genlens" demo --out "$demo"
fi
demo=$(cd "$demo" && pwd)
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
ln -s "$demo" "$home/genlens-demo"
shots="$root/assets/screenshots"
HOME="$home" GENLENS_DEMO_DIR="$home/genlens-demo" SHOTS="$shots" \
  xvfb-run -a -s '-screen 0 1600x1000x24' "$build/genlens-studio" --width 1600 --height 1000 \
  --script "$shots/tour.script"
if [ ! -f "$demo/study/report.md" ]; then
  "$build/genlens" demo --study --out "$demo"
fi
# study.json names the paths it was made with: made again (cached, a second) through the
# temporary HOME so the screen reads ~/genlens-demo, then restored.
HOME="$home" "$build/genlens" demo --study -q --out "$home/genlens-demo" >/dev/null
HOME="$home" GENLENS_DEMO_DIR="$home/genlens-demo" SHOTS="$shots" \
  xvfb-run -a -s '-screen 0 1400x1300x24' "$build/genlens-studio" --width 1400 --height 1280 \
  --script "$shots/study.script"
"$build/genlens" demo --study -q --out "$demo" >/dev/null
ls -l "$shots"/*.png
