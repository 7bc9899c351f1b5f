#!/bin/sh
# The G2C ablation on one catalog: the same task, preset and schedule for
# every variant -
#   PAS_ONLY                  the single-stain baseline
#   PAS_ONLY no augmentation  the baseline without flips and colour jitter
#                             (G2C vs conventional augmentation)
#   PAS_<STAIN>               PAS plus one generated stain, for each generator
#   PAS_ALL                   PAS plus every generated stain
#   PAS_ALL+                  the same with cross-stain attention (G2C)
#   PAS_ALL+ frozen           G2C with the generators never trained
#                             (the paper's separate optimisation)
# each evaluated on the test split (a level-2 task given the level-1 model
# of --given) and compared with PAS_ONLY (McNemar), PAS_ALL+ also with its
# frozen twin; then a summary table on stdout, the paper's tables as
# Markdown (g2c compare --table) and the sheet of glomeruli PAS_ONLY gets
# wrong and PAS_ALL+ right (g2c compare --rescued).  Re-running it resumes
# unfinished models and skips finished ones (g2c train refuses to retrain
# them; that is not an error here).
#
# usage: pipelines/ablation.sh --db FILE --task TASK --generators A,B,...
#            [--generator-db FILE] [--prefix NAME] [--g2c PATH]
#            [--only "VARIANTS"] [--given L1MODEL] [--out FILE.md]
#            [--rescued FILE.png] [--title TEXT] [-- EXTRA g2c train OPTIONS]
#   e.g.  pipelines/ablation.sh --db kidney.db --task gs-vs-rest \
#             --generators PAS2HE,PAS2MASSON -- --preset cpu --epochs 12
#   --only     a space-separated subset of: only noaug stains all all+ frozen
#   --given    for ss-vs-gs: the s-vs-noa model whose "s" glomeruli level 2 is
#              evaluated on (as in the paper)
#   --out      the Markdown tables (default ablation-TASK.md)
#   --rescued  the rescued-cases sheet (default ablation-TASK-rescued.png;
#              needs the variants only and all+)
# GENOPT and BASELINE hold several words or none, split on purpose:
# shellcheck disable=SC2086
set -eu

G2C=${G2C:-g2c}
DB='' TASK='' GENS='' GENDB='' PREFIX=abl ONLY="only noaug stains all all+ frozen"
GIVEN='' OUT='' RESCUED='' TITLE=''
while [ $# -gt 0 ]; do
    case $1 in
    --db) DB=$2; shift 2 ;;
    --task) TASK=$2; shift 2 ;;
    --generators) GENS=$2; shift 2 ;;
    --generator-db) GENDB=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --g2c) G2C=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --given) GIVEN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --rescued) RESCUED=$2; shift 2 ;;
    --title) TITLE=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "ablation.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$DB" ] || [ -z "$TASK" ] || [ -z "$GENS" ]; then
    echo "usage: ablation.sh --db FILE --task TASK --generators A,B [-- TRAIN OPTIONS]" >&2
    exit 2
fi
OUT=${OUT:-ablation-$TASK.md}
RESCUED=${RESCUED:-ablation-$TASK-rescued.png}
TITLE=${TITLE:-G2C ablation: $TASK}
if [ "$TASK" = ss-vs-gs ] && [ -z "$GIVEN" ]; then
    echo "note: ss-vs-gs without --given L1MODEL is evaluated on all ss and gs glomeruli," \
        "not on those a level-1 model called s as in the paper" >&2
fi
GENOPT="--generators $GENS"
[ -n "$GENDB" ] && GENOPT="$GENOPT --generator-db $GENDB"
wants() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# g2c train, where "already trained" counts as done.
train() {
    name=$1; shift
    echo "== train $name: $*"
    if ! "$G2C" --db "$DB" train --name "$name" --task "$TASK" "$@" 2>"$name.err"; then
        if grep -q "is already trained" "$name.err"; then
            echo "   (already trained)"
        else
            cat "$name.err" >&2
            exit 1
        fi
    fi
    rm -f "$name.err"
}

evaluate() {
    echo "== eval $1"
    if [ -n "$GIVEN" ]; then
        "$G2C" --db "$DB" eval --model "$1" --given "$GIVEN"
    else
        "$G2C" --db "$DB" eval --model "$1"
    fi
}

MODELS=""
if wants only; then
    train "$PREFIX-pas-only" --variant PAS_ONLY "$@"
    MODELS="$MODELS $PREFIX-pas-only"
fi
if wants noaug; then
    train "$PREFIX-pas-only-noaug" --variant PAS_ONLY --no-augment "$@"
    MODELS="$MODELS $PREFIX-pas-only-noaug"
fi
if wants stains; then
    for gen in $(echo "$GENS" | tr ',' ' '); do
        stain=$("$G2C" --db "${GENDB:-$DB}" query --format csv --model "$gen" --sql \
            "SELECT json_extract(config, '\$.target_stain') FROM models WHERE name = :model" |
            tail -n 1 | tr -d '\r"')
        train "$PREFIX-pas-$stain" --variant "PAS_$stain" $GENOPT "$@"
        MODELS="$MODELS $PREFIX-pas-$stain"
    done
fi
if wants all; then
    train "$PREFIX-pas-all" --variant PAS_ALL $GENOPT "$@"
    MODELS="$MODELS $PREFIX-pas-all"
fi
if wants all+; then
    train "$PREFIX-pas-all+" --variant PAS_ALL+ $GENOPT "$@"
    MODELS="$MODELS $PREFIX-pas-all+"
fi
if wants frozen; then
    train "$PREFIX-pas-all+frozen" --variant PAS_ALL+ --freeze-generators $GENOPT "$@"
    MODELS="$MODELS $PREFIX-pas-all+frozen"
fi

for m in $MODELS; do evaluate "$m"; done
if wants only; then
    for m in $MODELS; do
        [ "$m" = "$PREFIX-pas-only" ] && continue
        echo "== compare $PREFIX-pas-only $m"
        if [ "$m" = "$PREFIX-pas-all+" ]; then
            "$G2C" --db "$DB" compare --model "$PREFIX-pas-only" --model "$m" \
                --rescued "$RESCUED"
        else
            "$G2C" --db "$DB" compare --model "$PREFIX-pas-only" --model "$m"
        fi
    done
fi
if wants all+ && wants frozen; then
    echo "== compare $PREFIX-pas-all+ $PREFIX-pas-all+frozen (joint vs separate)"
    "$G2C" --db "$DB" compare --model "$PREFIX-pas-all+" --model "$PREFIX-pas-all+frozen"
fi

echo "== summary (test split; p: McNemar exact against PAS_ONLY)"
"$G2C" --db "$DB" query --sql "
SELECT m.name AS model,
       json_extract(m.config, '\$.variant') AS variant,
       CASE json_extract(m.config, '\$.freeze_generators') WHEN 1 THEN 'frozen'
            ELSE '' END AS generators,
       CASE json_extract(m.config, '\$.augment') WHEN 0 THEN 'no' ELSE 'yes' END AS augment,
       round(json_extract(e.metrics, '\$.balanced_accuracy'), 4) AS balanced_acc,
       round(json_extract(e.metrics, '\$.macro_f1'), 4) AS macro_f1,
       round(json_extract(e.metrics, '\$.accuracy'), 4) AS test_acc,
       round(json_extract(e.metrics, '\$.train.accuracy'), 4) AS train_acc,
       round(json_extract(e.metrics, '\$.gap'), 4) AS gap,
       (SELECT printf('%.4g', json_extract(c.metrics, '\$.p_value')) FROM runs c
         WHERE c.kind = 'compare' AND json_extract(c.params, '\$.b') = m.name
           AND json_extract(c.params, '\$.a') = '$PREFIX-pas-only'
         ORDER BY c.id DESC LIMIT 1) AS p_vs_only,
       round(json_extract(t.metrics, '\$.seconds') / 60.0, 1) AS train_min
FROM models m
JOIN runs e ON e.id = (SELECT max(id) FROM runs WHERE model_id = m.id AND kind = 'eval'
                        AND json_extract(params, '\$.split') = 'test')
JOIN runs t ON t.id = (SELECT max(id) FROM runs WHERE model_id = m.id AND kind = 'train')
WHERE m.kind = 'g2c' AND m.name LIKE '$PREFIX-%'
ORDER BY m.id"

echo "== tables: $OUT"
BASELINE=
if wants only; then BASELINE="--baseline $PREFIX-pas-only"; fi
"$G2C" --db "$DB" compare --table "$OUT" --title "$TITLE" \
    --models "$(echo $MODELS | tr ' ' ',')" $BASELINE
