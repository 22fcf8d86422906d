// Sends one model-call event to vigil over NATS JetStream.
//
//   npm ci && VIGIL_NATS_URL=nats://localhost:4222 node publish.mjs <event-id>
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";

const id = process.argv[2]; // unique per model call: vigil de-duplicates on it
const nc = await connect({ servers: process.env.VIGIL_NATS_URL });
const event = {
  event_id: id,
  timestamp: new Date().toISOString(),
  app: "shop",
  model: "gpt-4o-mini",
  input: "Where is my order?",
  output: "Your order shipped yesterday.",
};
await jetstream(nc).publish("vigil.events.shop", JSON.stringify(event), { msgID: id });
await nc.drain();
