/* Sends one model-call event to vigil over NATS JetStream with libnats (apt-get install libnats-dev).
 *
 *   cc publish.c -lnats -o publish && VIGIL_NATS_URL=nats://localhost:4222 ./publish <event-id>
 */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsPubOptions po;
    jsErrCode jerr = 0;
    char ts[32], ev[512];
    time_t now = time(NULL);

    if (argc < 2) { fprintf(stderr, "usage: %s <event-id>\n", argv[0]); return 2; }
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    /* the event id goes into JSON as is: keep it to letters, digits and - _ . : */
    snprintf(ev, sizeof ev,
             "{\"event_id\":\"%s\",\"timestamp\":\"%s\",\"app\":\"shop\",\"model\":\"gpt-4o-mini\","
             "\"input\":\"Where is my order?\",\"output\":\"Your order shipped yesterday.\"}", argv[1], ts);

    jsPubOptions_Init(&po);
    po.MsgId = argv[1]; /* vigil de-duplicates on it */
    natsStatus s = natsConnection_ConnectTo(&nc, getenv("VIGIL_NATS_URL"));
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK) s = js_Publish(NULL, js, "vigil.events.shop", ev, (int)strlen(ev), &po, &jerr);
    if (s != NATS_OK) fprintf(stderr, "publish: %s (%d)\n", natsStatus_GetText(s), jerr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return s == NATS_OK ? 0 : 1;
}
