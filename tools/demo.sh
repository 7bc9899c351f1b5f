#!/usr/bin/env bash
# The main job on built-in data: installs what is missing, builds g2c, makes
# synthetic multi-stain kidney slides of several patients, and runs the
# pipeline stages that exist so far on them:
#   ingest (annotated PAS slides + unlabelled HE, MASSON, PASM slides)
#   -> reference sets per stain -> catalog summary.
# Everything goes to demo-out/ (the catalog is demo-out/g2c.db).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

BUILD=${G2C_BUILD:-build-release}
[ -d "$BUILD" ] || meson setup "$BUILD" -Dbuildtype=release >/dev/null
ninja -C "$BUILD" >/dev/null

OUT=${G2C_DEMO_OUT:-demo-out}
PATIENTS=${G2C_DEMO_PATIENTS:-4}
SIZE=${G2C_DEMO_SIZE:-4096x4096}
GLOMERULI=${G2C_DEMO_GLOMERULI:-28}
G2C="$BUILD/g2c --db $OUT/g2c.db"
MKSLIDE="$BUILD/tools/g2c-mkslide"
mkdir -p "$OUT/slides"
rm -f "$OUT/g2c.db" "$OUT/g2c.db-wal" "$OUT/g2c.db-shm"

echo "== making synthetic slides for $PATIENTS patients in $OUT/slides"
manifest="$OUT/manifest.csv"
echo "patient,slide,stain,annotations,split" >"$manifest"
for i in $(seq 1 "$PATIENTS"); do
  p=$(printf "P%03d" "$i")
  split=train
  [ "$i" -eq "$PATIENTS" ] && split=test
  # The annotated PAS biopsy of this patient...
  "$MKSLIDE" synth "$OUT/slides/$p" --seed "$i" --size "$SIZE" --glomeruli "$GLOMERULI" \
    --stains PAS --annotations geojson >/dev/null 2>&1
  echo "$p,slides/$p-PAS.tiff,PAS,slides/$p.geojson,$split" >>"$manifest"
  # ...and unlabelled sections in the other stains (other tissue: unpaired).
  "$MKSLIDE" synth "$OUT/slides/$p-ref" --seed $((1000 + i)) --size "$SIZE" \
    --glomeruli 12 --stains HE,MASSON,PASM --annotations csv >/dev/null 2>&1
  for stain in HE MASSON PASM; do
    echo "$p,slides/$p-ref-$stain.tiff,$stain,,$split" >>"$manifest"
  done
done

echo "== g2c ingest"
$G2C ingest --mpp 0.5 "$manifest"

echo "== g2c refset (one reference set per stain)"
for stain in PAS HE MASSON PASM; do
  $G2C refset "ref-$stain" --stain "$stain" --count 200 --size 64 --mpp 1.0 --seed 1
  $G2C --quiet refset "ref-$stain" --export "$OUT/refsets/$stain" >/dev/null
done

echo "== catalog summary"
$G2C summary
echo
echo "catalog: $OUT/g2c.db   reference-set contact sheets: $OUT/refsets/*/contact-sheet.png"
