#!/bin/sh
# Sends a user's thumbs-down on an earlier model call to vigil's ingest service.
#   VIGIL_INGEST_URL=http://localhost:8080 VIGIL_INGEST_KEY=... ./feedback.sh <event-id> <feedback-id>
set -eu
event="$1"    # the event_id of the call the user judged
feedback="$2" # unique per feedback: vigil de-duplicates on it
curl --fail-with-body --silent --show-error --retry 3 --retry-all-errors \
  -H "Authorization: Bearer $VIGIL_INGEST_KEY" -H 'Content-Type: application/json' \
  --data-binary @- "$VIGIL_INGEST_URL/v1/feedback" <<JSON
{"feedback_id":"$feedback","event_id":"$event","timestamp":"$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "app":"shop","model":"gpt-4o-mini","kind":"thumbs","value":0,"comment":"did not answer the question"}
JSON
