#!/bin/sh
# Sends one model-call event to vigil's ingest service.
#   VIGIL_INGEST_URL=http://localhost:8080 VIGIL_INGEST_KEY=... ./publish.sh <event-id>
set -eu
id="$1" # unique per model call: vigil de-duplicates on it; letters, digits and - _ . : only
curl --fail-with-body --silent --show-error --retry 3 --retry-all-errors \
  -H "Authorization: Bearer $VIGIL_INGEST_KEY" -H 'Content-Type: application/json' \
  --data-binary @- "$VIGIL_INGEST_URL/v1/events" <<JSON
{"event_id":"$id","timestamp":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","app":"shop","model":"gpt-4o-mini",
 "input":"Where is my order?","output":"Your order shipped yesterday."}
JSON
