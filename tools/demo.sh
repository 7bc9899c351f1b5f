#!/usr/bin/env bash
# The main job on built-in data: installs what is missing, builds g2c, makes
# synthetic multi-stain kidney slides of several patients, and runs the demo
# pipeline (pipelines/demo.json) on them with `g2c run`:
#   ingest (annotated PAS slides + unlabelled HE, MASSON, PASM slides)
#   -> reference sets per stain -> CycleGAN generators PAS -> HE, MASSON, PASM
#   -> two classifiers, PAS_ONLY and PAS_ALL+ (G2C) -> evaluation on the test
#   patients -> inference on every slide -> reports of the test patients.
# Everything goes to demo-out/ (the catalog is demo-out/g2c.db).  Running it
# again skips what is done and resumes what was interrupted; --fresh starts
# over.
#
#   tools/demo.sh [--fresh]
#   tools/demo.sh --slides-only DIR   only the slides and DIR/manifest.csv
#                                     (the pipeline test uses this)
#   tools/demo.sh --real-slides DIR   the real data (../shared/data, or
#                                     $G2C_SHARED_DATA) as slides and
#                                     DIR/manifest.csv for pipelines/real.json
# Settings (environment): G2C_BUILD (build-release), G2C_DEMO_OUT (demo-out),
# G2C_DEMO_PATIENTS (6, the last 2 are the test split), G2C_DEMO_SIZE
# (4096x4096), G2C_DEMO_GLOMERULI (24 per PAS slide), G2C_DEMO_REF_STAINS
# (HE,MASSON,PASM), G2C_DEMO_PIPELINE (pipelines/demo.json).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${G2C_BUILD:-build-release}
OUT=${G2C_DEMO_OUT:-demo-out}
PATIENTS=${G2C_DEMO_PATIENTS:-6}
SIZE=${G2C_DEMO_SIZE:-4096x4096}
GLOMERULI=${G2C_DEMO_GLOMERULI:-24}
REF_STAINS=${G2C_DEMO_REF_STAINS:-HE,MASSON,PASM}
PIPELINE=${G2C_DEMO_PIPELINE:-pipelines/demo.json}
SLIDES_ONLY=0 REAL=0 FRESH=0
while [ $# -gt 0 ]; do
  case $1 in
  --slides-only) SLIDES_ONLY=1; OUT=$2; shift 2 ;;
  --real-slides) REAL=1; OUT=$2; shift 2 ;;
  --fresh) FRESH=1; shift ;;
  *) echo "usage: tools/demo.sh [--fresh] | --slides-only DIR | --real-slides DIR" >&2
     exit 2 ;;
  esac
done

# One annotated PAS biopsy per patient, and unlabelled sections of other
# tissue in the other stains (unpaired, as in G2C); the last two patients
# (the last one when there are fewer than 4) are the test split.
# g2c-mkslide, quiet unless it fails.
mkslide() {
  if ! "$BUILD/tools/g2c-mkslide" "$@" >/dev/null 2>"$OUT/slides/mkslide.log"; then
    cat "$OUT/slides/mkslide.log" >&2
    exit 1
  fi
}

make_slides() {
  local manifest="$OUT/manifest.csv"
  local stamp="$PATIENTS $SIZE $GLOMERULI $REF_STAINS"
  if [ -f "$manifest" ] && [ "$(cat "$OUT/slides/.settings" 2>/dev/null)" = "$stamp" ]; then
    echo "== synthetic slides for $PATIENTS patients: already in $OUT/slides"
    return
  fi
  echo "== making synthetic slides for $PATIENTS patients in $OUT/slides"
  mkdir -p "$OUT/slides"
  local tests=2 i p split stain
  [ "$PATIENTS" -lt 4 ] && tests=1
  echo "patient,slide,stain,annotations,split" >"$manifest.tmp"
  for i in $(seq 1 "$PATIENTS"); do
    p=$(printf "P%03d" "$i")
    split=train
    [ "$i" -gt $((PATIENTS - tests)) ] && split=test
    mkslide synth "$OUT/slides/$p" --seed "$i" --size "$SIZE" --glomeruli "$GLOMERULI" \
      --stains PAS --annotations geojson
    echo "$p,slides/$p-PAS.tiff,PAS,slides/$p.geojson,$split" >>"$manifest.tmp"
    mkslide synth "$OUT/slides/$p-ref" --seed $((1000 + i)) --size "$SIZE" \
      --glomeruli $((GLOMERULI / 2)) --stains "$REF_STAINS" --annotations csv
    for stain in ${REF_STAINS//,/ }; do
      echo "$p,slides/$p-ref-$stain.tiff,$stain,,$split" >>"$manifest.tmp"
    done
    printf '   %s (%s)\n' "$p" "$split"
  done
  mv "$manifest.tmp" "$manifest"
  echo "$stamp" >"$OUT/slides/.settings"
}

# The real material as slides: the stain fields (PNG) as tiled TIFF slides
# (split "val", so reference sets can take them with --split val and
# training never sees them), the H&E slide CMU-1 as it is, and the 707
# labelled PAS glomeruli as one mosaic slide per source slide, that slide
# being the "patient", so g2c train splits them by slide, never by crop.
make_real_slides() {
  local data=${G2C_SHARED_DATA:-../shared/data} manifest="$OUT/manifest.csv" s n
  data=$(cd "$data" && pwd)
  mkdir -p "$OUT/slides" "$OUT/labels"
  echo "patient,slide,stain,annotations,split" >"$manifest.tmp"
  for s in PAS JonesHE SiriusRed; do
    mkslide from-png "$data/stains/kidney-$s.png" "$OUT/slides/field-$s.tiff"
    echo "nisar-field,slides/field-$s.tiff,$s,,val" >>"$manifest.tmp"
  done
  echo "CMU-1,$data/slides/CMU-1-Small-Region.svs,HE,,val" >>"$manifest.tmp"
  for s in $(tail -n +2 "$data/glomeruli/labels.csv" | cut -d, -f4 | sort -u); do
    { echo "file,label"; grep ",$s\$" "$data/glomeruli/labels.csv" | cut -d, -f1,2; } \
      >"$OUT/labels/$s.csv"
    n=$(($(wc -l <"$OUT/labels/$s.csv") - 1))
    mkslide mosaic "$OUT/slides/$s.tiff" --crops "$data/glomeruli" --labels "$OUT/labels/$s.csv" \
      --count "$n" --seed 1
    echo "$s,slides/$s.tiff,PAS,slides/$s.geojson," >>"$manifest.tmp"
  done
  mv "$manifest.tmp" "$manifest"
  echo "== real data as slides in $OUT/slides; next: $BUILD/g2c --db $OUT/g2c.db run" \
    "pipelines/real.json --set data=$data"
}

if [ "$REAL" = 1 ]; then
  mkdir -p "$OUT/slides"
  make_real_slides
  exit 0
fi
if [ "$SLIDES_ONLY" = 1 ]; then
  make_slides
  exit 0
fi

start=$(date +%s)
tools/install-deps.sh
[ -d "$BUILD" ] || meson setup "$BUILD" -Dbuildtype=release >/dev/null
echo "== building g2c in $BUILD"
# Only the program and the slide writer: the tests are tools/test.sh's job.
ninja -C "$BUILD" g2c tools/g2c-mkslide >/dev/null

if [ "$FRESH" = 1 ]; then
  rm -rf "$OUT/g2c.db" "$OUT/g2c.db-wal" "$OUT/g2c.db-shm" "$OUT/models" "$OUT/reports" \
    "$OUT/refsets"
fi
make_slides

echo "== g2c run $PIPELINE"
G2C="$BUILD/g2c --db $OUT/g2c.db"
$G2C run "$PIPELINE"

echo
echo "== catalog summary"
$G2C summary
# The one-line answer: balanced accuracy of each classifier on the test split.
summary=$($G2C --quiet query --format csv --sql "
SELECT json_extract(m.config, '\$.variant'),
       printf('%.2f', json_extract(r.metrics, '\$.balanced_accuracy')),
       json_extract(r.metrics, '\$.n')
FROM runs r JOIN models m ON m.id = r.model_id
WHERE r.kind = 'eval' AND r.status = 'done' AND json_extract(r.params, '\$.split') = 'test'
  AND r.id = (SELECT max(id) FROM runs WHERE model_id = m.id AND kind = 'eval')
ORDER BY m.id" | tail -n +2 | tr -d '\r"' |
  awk -F, '{ line = line (NR > 1 ? ", " : "") $1 " " (NR > 1 ? "" : "balanced accuracy ") $2; n = $3 }
           END { if (line != "") print line " (test, " n " glomeruli)" }')
echo
echo "reports: $OUT/reports/*/index.html   catalog: $OUT/g2c.db"
echo "reference-set contact sheets: $OUT/refsets/*/contact-sheet.png"
echo "generators: $OUT/models/PAS2*/held-out.png   ($(($(date +%s) - start)) s in all)"
echo "${summary:-no evaluation results}"
