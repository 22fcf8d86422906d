"""Sends one model-call event to vigil's ingest service (Python standard library only).

    VIGIL_INGEST_URL=http://localhost:8080 VIGIL_INGEST_KEY=... python3 publish.py <event-id>
"""
import datetime
import json
import os
import sys
import urllib.request

event = {
    "event_id": sys.argv[1],  # unique per model call: vigil de-duplicates on it
    "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    "app": "shop",
    "model": "gpt-4o-mini",
    "input": "Where is my order?",
    "output": "Your order shipped yesterday.",
}
req = urllib.request.Request(
    os.environ["VIGIL_INGEST_URL"] + "/v1/events",
    data=json.dumps(event).encode(),
    headers={
        "Authorization": "Bearer " + os.environ["VIGIL_INGEST_KEY"],
        "Content-Type": "application/json",
    },
)
with urllib.request.urlopen(req, timeout=30) as resp:  # raises on 4xx/5xx; retry 503 after Retry-After
    print(resp.status, resp.read().decode())
