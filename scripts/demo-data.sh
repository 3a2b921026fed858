#!/usr/bin/env bash
# Generate a small synthetic data set over the real Jiaxing regions and load it:
# register (persons, houses, relations, house codes), estate boundaries, building
# footprints and public-service facilities. Safe to run again: every import is idempotent.
#
#   DEMO_HOUSES=2000 scripts/demo-data.sh        (make demo runs it)
#
# Environment: DEMO_HOUSES (default 2000), DEMO_SEED (7), DEMO_DIR (var/demo), and the
# usual CIMHOUSE_* settings. Needs the database started, migrated and the regions loaded.
set -euo pipefail
cd "$(dirname "$0")/.."

CIM=.venv/bin/cimhouse
HOUSES=${DEMO_HOUSES:-2000}
SEED=${DEMO_SEED:-7}
OUT=${DEMO_DIR:-var/demo}

has_command() {  # has_command import boundaries -> true when that CLI command exists
    "$CIM" "$@" --help >/dev/null 2>&1
}

echo "== generating about $HOUSES houses (seed $SEED) into $OUT"
"$CIM" demo generate --houses "$HOUSES" --seed "$SEED" --out "$OUT"

codes=()
if .venv/bin/python -c "import cimhouse.coding.assign_codes" 2>/dev/null; then
    codes=(--assign-codes)
fi
echo "== importing the register ${codes[*]}"
"$CIM" import register "$OUT/register.csv" --report "$OUT/register-rejects.csv" "${codes[@]}"

if has_command import boundaries; then
    echo "== estate boundaries"
    "$CIM" import boundaries "$OUT/estates.geojson" --level estate --within 3304 \
        --report "$OUT/estates-rejects.csv"
fi

echo "== building footprints"
"$CIM" import footprints "$OUT/buildings.geojson"

if has_command import facilities; then
    echo "== public-service facilities"
    "$CIM" import facilities "$OUT/facilities.csv" --source demo \
        --report "$OUT/facilities-rejects.csv"
fi
echo "== demo data loaded from $OUT"
