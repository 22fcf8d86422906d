#!/bin/sh
# Sends one model-call event to vigil over NATS JetStream with the nats CLI
# (go install github.com/nats-io/natscli/nats@latest).
#   VIGIL_NATS_URL=nats://localhost:4222 ./publish.sh <event-id>
set -eu
id="$1" # unique per model call: vigil de-duplicates on it; letters, digits and - _ . : only
nats --server "$VIGIL_NATS_URL" pub --jetstream -H "Nats-Msg-Id:$id" vigil.events.shop \
  "{\"event_id\":\"$id\",\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"app\":\"shop\",\"model\":\"gpt-4o-mini\",\"input\":\"Where is my order?\",\"output\":\"Your order shipped yesterday.\"}"
