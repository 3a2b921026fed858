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

echo "== generating about $HOUSES houses (seed $SEED) into $OUT"
"$CIM" demo generate --houses "$HOUSES" --seed "$SEED" --out "$OUT"

echo "== importing the register and assigning house codes"
"$CIM" import register "$OUT/register.csv" --report "$OUT/register-rejects.csv" --assign-codes

echo "== estate boundaries"
"$CIM" import boundaries "$OUT/estates.geojson" --level estate --within 3304 \
    --report "$OUT/estates-rejects.csv"

echo "== building footprints"
"$CIM" import footprints "$OUT/buildings.geojson"

echo "== public-service facilities"
"$CIM" import facilities "$OUT/facilities.csv" --source demo \
    --report "$OUT/facilities-rejects.csv"

echo "== future-community projects"
"$CIM" import projects "$OUT/projects.csv" --report "$OUT/projects-rejects.csv"
"$CIM" import project-boundaries "$OUT/project_boundaries.geojson" \
    --report "$OUT/project-boundaries-rejects.csv"
echo "== gap-filling projects: survey the service index, plan the five largest gaps"
"$CIM" programme survey --scope 3304 --date 2026-06-30
"$CIM" programme plan-gaps --scope 3304 --top 5 --date 2026-06-30
"$CIM" report programme --scope 3304 --as-of 2025-12-31 --format xlsx --out "$OUT/programme.xlsx"

# A fresh token per run (names are unique; old demo tokens stay valid until revoked).
echo "== demo token (Jiaxing 3304; reader, person_reader, coder)"
"$CIM" tokens create --name "demo-$(date +%Y%m%d%H%M%S)" --scope 3304 \
    --role reader --role person_reader --role coder --json \
    | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["token"])' \
    > "$OUT/token.txt"
chmod 600 "$OUT/token.txt"
echo "== demo data loaded from $OUT; token in $OUT/token.txt. Try:"
echo "   curl -s -H \"Authorization: Bearer \$(cat $OUT/token.txt)\" -H 'Content-Type: application/json' \\"
echo "        -d '{\"query\":\"{ regions(parentCode: \\\"3304\\\") { edges { node { code name } } } }\"}' \\"
echo "        http://127.0.0.1:${DEMO_PORT:-8000}/graphql"
