/*
 * commands.c: the ng commands that act on anchored calls -- offer, answer,
 * delete, query -- run on the call's owner core (server.c posts them
 * there). Request keys as SBC modules send them; unknown keys are ignored.
 *
 *   offer   call-id, from-tag, sdp -> each MSRP section anchored; the
 *           reply's sdp has our address, port and a=path in those sections
 *           and every other byte unchanged (no MSRP section: unchanged).
 *   answer  call-id, from-tag, to-tag, sdp -> the same for the answerer;
 *           the legs msrpgw dials are dialled now.
 *   delete  call-id [, from-tag] -> the call's anchors torn down.
 *   query   call-id -> per section, per leg: peer path, our URI, state,
 *           chunks and body bytes received from that endpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ng/bencode.h"
#include "gateway/ng/sdp.h"
#include "gateway/ng/server.h"
#include "gateway/relay/relay.h"

#define NG_NODES 1024
#define NG_DEPTH 16

static int reply_error(char *out, size_t cap, const char *reason)
{
    struct ng_benc e;
    ng_benc_init(&e, out, cap);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "error");
    ng_benc_kv_cstr(&e, "error-reason", reason);
    ng_benc_end(&e);
    return e.err ? -ENOSPC : (int)e.n;
}

static struct msrp_slice str_of(const struct ng_bval *nodes, const struct ng_bval *dict,
                                const char *key)
{
    const struct ng_bval *v = ng_bdict_get(nodes, dict, key);
    return v && v->type == NG_BSTR ? v->s : msrp_slice(NULL, 0);
}

/* offer and answer: anchor every MSRP section, rewrite the SDP. */
static int offer_answer(struct gw_relay *r, struct gw_relay_core *core, uint64_t max_size,
                        bool answer, const struct ng_bval *nodes, const struct ng_bval *req,
                        char *out, size_t cap)
{
    struct msrp_slice call_id = str_of(nodes, req, "call-id");
    struct msrp_slice from_tag = str_of(nodes, req, "from-tag");
    struct msrp_slice to_tag = str_of(nodes, req, "to-tag");
    struct msrp_slice sdp = str_of(nodes, req, "sdp");
    if (!call_id.n || !from_tag.n)
        return reply_error(out, cap, "missing call-id or from-tag");
    if (!sdp.n)
        return reply_error(out, cap, "no SDP body");
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    size_t nms = 0;
    int err = ng_sdp_parse(sdp.p, sdp.n, ms, NG_SDP_MAX_MSRP, &nms);
    if (err < 0)
        return reply_error(out, cap, err == -E2BIG ? "too many MSRP sections" : "malformed SDP");
    struct ng_sdp_rewrite rw[NG_SDP_MAX_MSRP];
    char uris[NG_SDP_MAX_MSRP][320];
    for (size_t i = 0; i < nms; i++) {
        struct gw_anchor_media m = {
            /* The m= line's index: an answer that rejects a section (port
             * 0, skipped by the parser) keeps the others paired. */
            .call_id = call_id, .from_tag = from_tag, .to_tag = to_tag, .media = ms[i].media_index,
            .tls = ms[i].tls, .path = ms[i].path, .setup = ms[i].setup,
        };
        struct gw_anchor_result res;
        err = answer ? gw_anchor_answer(core, &m, &res) : gw_anchor_offer(core, &m, &res);
        if (err == -ENOENT)
            return reply_error(out, cap, "unknown call-id or from-tag (no offer)");
        if (err < 0)
            return reply_error(out, cap, err == -EINVAL ? "bad a=path" : "cannot anchor");
        size_t un = res.uri_n < sizeof(uris[i]) ? res.uri_n : sizeof(uris[i]) - 1;
        memcpy(uris[i], res.uri, un);
        uris[i][un] = '\0';
        rw[i] = (struct ng_sdp_rewrite){
            .addr = gw_relay_sdp_addr(r), .port = gw_relay_port(r, ms[i].tls), .path = uris[i],
            .setup = res.setup, .max_size_cap = max_size,
        };
    }
    size_t scap = sdp.n + 1024 * (nms + 1);
    char *nsdp = malloc(scap);
    if (!nsdp)
        return reply_error(out, cap, "out of memory");
    int sn = nms ? ng_sdp_rewrite(sdp.p, sdp.n, rw, nms, nsdp, scap) : (int)sdp.n;
    if (!nms)
        memcpy(nsdp, sdp.p, sdp.n);
    if (sn < 0) {
        free(nsdp);
        return reply_error(out, cap, "cannot rewrite the SDP");
    }
    struct ng_benc e;
    ng_benc_init(&e, out, cap);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "ok");
    ng_benc_kv_str(&e, "sdp", nsdp, (size_t)sn);
    ng_benc_end(&e);
    free(nsdp);
    return e.err ? -ENOSPC : (int)e.n;
}

static void leg_dict(struct ng_benc *e, const char *key, const struct gw_anchor_info *in, int i)
{
    ng_benc_cstr(e, key);
    ng_benc_dict(e);
    ng_benc_kv_cstr(e, "peer-path", in->leg[i].peer);
    ng_benc_kv_cstr(e, "our-uri", in->leg[i].uri);
    ng_benc_kv_cstr(e, "state", in->leg[i].state);
    ng_benc_kv_int(e, "chunks", (int64_t)in->leg[i].chunks_in);
    ng_benc_kv_int(e, "bytes", (int64_t)in->leg[i].bytes_in);
    ng_benc_end(e);
}

static int query(struct gw_relay_core *core, const struct ng_bval *nodes, const struct ng_bval *req,
                 char *out, size_t cap)
{
    struct msrp_slice call_id = str_of(nodes, req, "call-id");
    struct gw_anchor_info info[NG_SDP_MAX_MSRP];
    int n = call_id.n ? gw_anchor_query(core, call_id, info, NG_SDP_MAX_MSRP) : 0;
    if (n <= 0)
        return reply_error(out, cap, "Unknown call-id");
    struct ng_benc e;
    ng_benc_init(&e, out, cap);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "ok");
    ng_benc_kv_int(&e, "created", (int64_t)info[0].created_s);
    ng_benc_cstr(&e, "streams");
    ng_benc_list(&e);
    for (int i = 0; i < n; i++) {
        ng_benc_dict(&e);
        ng_benc_kv_int(&e, "media", info[i].media);
        leg_dict(&e, "offerer", &info[i], 0);
        leg_dict(&e, "answerer", &info[i], 1);
        ng_benc_end(&e);
    }
    ng_benc_end(&e);
    ng_benc_end(&e);
    return e.err ? -ENOSPC : (int)e.n;
}

int gw_ng_command(struct gw_relay *r, struct gw_relay_core *core, uint64_t max_size,
                  const char *req, size_t n, char *reply, size_t cap)
{
    struct ng_bval *nodes = malloc(sizeof(*nodes) * NG_NODES);
    if (!nodes)
        return reply_error(reply, cap, "out of memory");
    int k = ng_bdecode(req, n, nodes, NG_NODES, NG_DEPTH);
    int out;
    if (k < 1 || nodes[0].type != NG_BDICT) {
        out = reply_error(reply, cap, "not a bencoded dictionary");
    } else {
        const struct ng_bval *cmd = ng_bdict_get(nodes, &nodes[0], "command");
        if (ng_bstr_eq(cmd, "offer") || ng_bstr_eq(cmd, "answer")) {
            out = offer_answer(r, core, max_size, ng_bstr_eq(cmd, "answer"), nodes, &nodes[0],
                               reply, cap);
        } else if (ng_bstr_eq(cmd, "delete")) {
            struct msrp_slice call_id = str_of(nodes, &nodes[0], "call-id");
            int d = call_id.n ? gw_anchor_delete(core, call_id, str_of(nodes, &nodes[0], "from-tag"))
                              : 0;
            if (d > 0) {
                struct ng_benc e;
                ng_benc_init(&e, reply, cap);
                ng_benc_dict(&e);
                ng_benc_kv_cstr(&e, "result", "ok");
                ng_benc_end(&e);
                out = e.err ? -ENOSPC : (int)e.n;
            } else {
                out = reply_error(reply, cap, "Unknown call-id");
            }
        } else if (ng_bstr_eq(cmd, "query")) {
            out = query(core, nodes, &nodes[0], reply, cap);
        } else {
            out = reply_error(reply, cap, "Unrecognized command");
        }
    }
    free(nodes);
    return out;
}
