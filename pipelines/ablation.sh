#!/bin/sh
# The G2C ablation on one catalog: the same task, preset and schedule for
# every variant -
#   PAS_ONLY                  the single-stain baseline
#   PAS_<STAIN>               PAS plus one generated stain, for each generator
#   PAS_ALL                   PAS plus every generated stain
#   PAS_ALL+                  the same with cross-stain attention (G2C)
#   PAS_ALL+ frozen           G2C with the generators never trained
#                             (the paper's separate optimisation)
# each evaluated on the test split and compared with PAS_ONLY (McNemar),
# then one summary table.  Re-running it resumes unfinished models and
# skips finished ones (g2c train refuses to retrain them; that is not an
# error here).
#
# usage: pipelines/ablation.sh --db FILE --task TASK --generators A,B,...
#            [--generator-db FILE] [--prefix NAME] [--g2c PATH]
#            [--only "VARIANTS"] [-- EXTRA g2c train OPTIONS]
#   e.g.  pipelines/ablation.sh --db kidney.db --task gs-vs-rest \
#             --generators PAS2HE,PAS2MASSON -- --preset cpu --epochs 12
#   --only  a space-separated subset of: only stains all all+ frozen
set -eu

G2C=${G2C:-g2c}
DB= TASK= GENS= GENDB= PREFIX=abl ONLY="only stains all all+ frozen"
while [ $# -gt 0 ]; do
    case $1 in
    --db) DB=$2; shift 2 ;;
    --task) TASK=$2; shift 2 ;;
    --generators) GENS=$2; shift 2 ;;
    --generator-db) GENDB=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --g2c) G2C=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "ablation.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$DB" ] || [ -z "$TASK" ] || [ -z "$GENS" ]; then
    echo "usage: ablation.sh --db FILE --task TASK --generators A,B [-- TRAIN OPTIONS]" >&2
    exit 2
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
    "$G2C" --db "$DB" eval --model "$1"
}

MODELS=""
if wants only; then
    train "$PREFIX-pas-only" --variant PAS_ONLY "$@"
    MODELS="$MODELS $PREFIX-pas-only"
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
        "$G2C" --db "$DB" compare --model "$PREFIX-pas-only" --model "$m"
    done
fi

echo "== summary (test split; p: McNemar exact against PAS_ONLY)"
"$G2C" --db "$DB" query --sql "
SELECT m.name AS model,
       json_extract(m.config, '\$.variant') AS variant,
       CASE json_extract(m.config, '\$.freeze_generators') WHEN 1 THEN 'frozen'
            ELSE '' END AS generators,
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
