#!/bin/bash
# Ingestion benchmark: crops per second for N annotated boxes read at level 0
# from a real SVS into the catalog, g2c against the same work done by
# openslide-python + Pillow + sqlite3 (tools/bench_ingest_peer.py), in one
# process and with a 2-worker multiprocessing pool.  Runs are interleaved
# (g2c, peer, peer x2, g2c, ...) so that all three see the same machine
# load; each run writes a fresh catalog and is timed as a whole command.
#
#   tools/bench-ingest.sh [BUILD_DIR]        (default: build)
#
# Environment: G2C_SHARED_DATA (default /work/shared/data), BENCH_N (box
# counts, default "500 2000"), BENCH_RUNS (runs per tool, default 5; the
# median is reported), BENCH_PYTHON (default /usr/bin/python3, which needs
# python3-openslide and python3-pil), BENCH_TMP (scratch folder, default a
# mktemp folder that is removed at the end), BENCH_TARGET (default 3: g2c
# over one-process Python), BENCH_STRICT=1 to exit 1 below the target.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
g2c="$build/g2c"
data=${G2C_SHARED_DATA:-/work/shared/data}
py=${BENCH_PYTHON:-/usr/bin/python3}
peer="$here/bench_ingest_peer.py"
counts=${BENCH_N:-500 2000}
runs=${BENCH_RUNS:-5}
target=${BENCH_TARGET:-3}
slides="CMU-1-Small-Region.svs TCGA-CR-7395-01A-01-TS1.svs"

die() { echo "bench-ingest: $*" >&2; exit 2; }
[ -x "$g2c" ] || die "$g2c not found; build first (meson setup $build && ninja -C $build)"
for s in $slides; do [ -r "$data/slides/$s" ] || die "$data/slides/$s not readable (set G2C_SHARED_DATA)"; done
"$py" -c 'import openslide, PIL' 2>/dev/null || die "$py lacks openslide or PIL (python3-openslide, python3-pil)"

# g2c sets OPENBLAS_CORETYPE itself; an inherited one would hide that.
unset OPENBLAS_CORETYPE

if [ -n "${BENCH_TMP:-}" ]; then
    tmp=$BENCH_TMP
    mkdir -p "$tmp"
else
    tmp=$(mktemp -d /tmp/bench-ingest.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
fi

# run_timed OUT_PREFIX CMD...: runs CMD, appends "wall cpu" to OUT_PREFIX.t
run_timed() {
    local out=$1
    shift
    local t0 t1 cpu
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$out.cpu" "$@" >"$out.log" 2>&1 ||
        { cat "$out.log" >&2; die "failed: $*"; }
    t1=$(date +%s.%N)
    cpu=$(awk '{print $1 + $2}' "$out.cpu")
    echo "$t0 $t1 $cpu" | awk '{printf "%.4f %.3f\n", $2 - $1, $3}' >>"$out.t"
}

fresh() { rm -f "$1" "$1-wal" "$1-shm" "$1-journal"; }

# medians of the wall and of the cpu column, each on its own
median() {
    local w c
    w=$(cut -d' ' -f1 "$1" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    c=$(cut -d' ' -f2 "$1" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    echo "$w $c"
}

count_patches() { "$py" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM patches").fetchone()[0])' "$1"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "g2c: $g2c ($(cd "$(dirname "$g2c")" && meson introspect --buildoptions 2>/dev/null | "$py" -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"), "?"))' 2>/dev/null || echo '?'))"
echo "python: $("$py" -c 'import sys, openslide, PIL; print("%s, openslide-python %s, Pillow %s" % (sys.version.split()[0], openslide.__version__, PIL.__version__))')"
echo "runs per tool: $runs (median), interleaved; each run: fresh catalog, whole command timed"
echo

results="$tmp/results"
: >"$results"
for s in $slides; do
    slide="$data/slides/$s"
    for n in $counts; do
        case="$tmp/${s%.svs}-$n"
        boxes="$case.csv"
        "$py" "$peer" boxes "$slide" "$n" 2019 "$boxes"
        rm -f "$case".*.t
        for _ in $(seq "$runs"); do
            fresh "$case.g2c.db"
            run_timed "$case.g2c" "$g2c" --quiet --db "$case.g2c.db" ingest --patient P \
                --stain HE --annotations "$boxes" "$slide"
            fresh "$case.py1.db"
            run_timed "$case.py1" "$py" "$peer" ingest "$case.py1.db" "$slide" "$boxes"
            fresh "$case.py2.db"
            run_timed "$case.py2" "$py" "$peer" ingest --workers 2 "$case.py2.db" "$slide" "$boxes"
        done
        for tool in g2c py1 py2; do
            got=$(count_patches "$case.$tool.db")
            [ "$got" = "$n" ] || die "$tool stored $got crops for $n boxes ($s)"
        done
        diff=$("$py" "$peer" compare "$case.g2c.db" "$case.py1.db")
        load=$(cut -d' ' -f1 /proc/loadavg)
        echo "$s $n $(median "$case.g2c.t") $(median "$case.py1.t") $(median "$case.py2.t") | $diff; load $load" >>"$results"
    done
done

awk -v target="$target" '
BEGIN {
    printf "%-28s %5s  %-13s %8s %8s %9s %7s %7s\n", "slide", "N", "tool", "wall s", "cpu s",
        "crops/s", "g2c/x", "cpu g/x"
    ok = 1
}
{
    n = $2
    split("g2c python-1proc python-2proc", name, " ")
    for (k = 0; k < 3; k++) { wall[k] = $(3 + 2 * k); cpu[k] = $(4 + 2 * k) }
    for (k = 0; k < 3; k++) {
        ratio = k == 0 ? "" : sprintf("%.2fx", wall[k] / wall[0])
        cratio = k == 0 ? "" : sprintf("%.2fx", cpu[k] / cpu[0])
        printf "%-28s %5d  %-13s %8.3f %8.3f %9.1f %7s %7s\n", $1, n, name[k + 1], wall[k],
            cpu[k], n / wall[k], ratio, cratio
    }
    sub(/^[^|]*\| /, "")
    printf "%-28s %5s  crops g2c vs python-1proc: %s\n", "", "", $0
    if (wall[1] / wall[0] < target) ok = 0
}
END {
    printf "\ng2c/x: wall-time ratio (crops/s of g2c over x); cpu g/x: the same for user+sys CPU time\n"
    printf "target: g2c >= %sx one-process Python (wall) on every case: %s\n", target, ok ? "met" : "MISSED"
    exit ok ? 0 : 1
}' "$results" && met=1 || met=0
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$met" = 0 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then
    exit 1
fi
exit 0
