#!/usr/bin/env bash
# Home safety on the demo data: the embedded MQTT broker, the ingester, and a simulated day
# of device readings for the elderly living alone, with the alerts as they arrive.
#
#   scripts/demo-safety.sh            (make demo runs it after scripts/demo-data.sh)
#
# Environment: DEMO_SAFETY_HOUSES (16), DEMO_SCENARIO (mixed), and the usual CIMHOUSE_*
# settings. Leaves the broker running (cimhouse broker stop), stops the ingester it started.
set -euo pipefail
cd "$(dirname "$0")/.."

CIM=.venv/bin/cimhouse
HOUSES=${DEMO_SAFETY_HOUSES:-16}
SCENARIO=${DEMO_SCENARIO:-mixed}
mkdir -p var

echo "== MQTT broker (mosquitto, 127.0.0.1:${CIMHOUSE_MQTT_PORT:-1883})"
"$CIM" broker start
"$CIM" safety maintain

echo "== ingester: cimhouse safety ingest (log in var/ingest.log)"
"$CIM" safety ingest > var/ingest.log 2>&1 &
INGEST=$!
trap 'kill "$INGEST" 2>/dev/null || true; wait "$INGEST" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q subscribed var/ingest.log && break; sleep 0.2; done

echo "== simulated day for $HOUSES homes of elderly people living alone ($SCENARIO)"
"$CIM" demo devices --houses "$HOUSES" --scenario "$SCENARIO" --wait 15

echo "== the inactivity rule over Jiaxing (the silent days raise their alert now)"
"$CIM" safety check-inactivity --scope 3304 --hours 8
echo "== what the ingester counted"
"$CIM" safety ingest-status
