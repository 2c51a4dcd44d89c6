/*
 * msrp.js: an MSRP client (RFC 4975) over WebSocket (RFC 7977, subprotocol
 * "msrp") for the demo page, written for msrpgw's tests. It AUTHs to a
 * relay with Digest (RFC 4976), sends a file as SEND chunks through the
 * relay's Use-Path and receives one sent to it.
 *
 * It is strict the way a deployed client must be, because the test uses it
 * to judge the relay: responses must name a transaction we opened and be
 * addressed to us; incoming SENDs must come through our relay (From-Path
 * starts with the reverse of its Use-Path), be addressed to us alone and
 * carry Byte-Ranges that agree with their bodies and with each other.
 * Anything else is answered with an error (requests) or counted and dropped
 * (responses), never guessed at.
 *
 * No dependencies. Works in a browser (window.Msrp) and in node
 * (module.exports) for the self-test.
 */
(function (root) {
'use strict';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8');

// ---------------------------------------------------------------------------
// MD5 (RFC 1321). Digest AUTH needs it and SubtleCrypto has none.

const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const MD5_K = new Int32Array(64);
for (let i = 0; i < 64; i++)
    MD5_K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) | 0;

function md5(input) {
    const msg = typeof input === 'string' ? enc.encode(input) : input;
    const n = msg.length;
    const len = Math.ceil((n + 9) / 64) * 64;   // message, 0x80, 64-bit length
    const buf = new Uint8Array(len);
    buf.set(msg);
    buf[n] = 0x80;
    const dv = new DataView(buf.buffer);
    dv.setUint32(len - 8, (n << 3) >>> 0, true);
    dv.setUint32(len - 4, Math.floor(n / 0x20000000), true);
    let a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
    const M = new Int32Array(16);
    for (let off = 0; off < len; off += 64) {
        for (let j = 0; j < 16; j++)
            M[j] = dv.getInt32(off + 4 * j, true);
        let A = a0, B = b0, C = c0, D = d0;
        for (let i = 0; i < 64; i++) {
            let F, g;
            if (i < 16) { F = (B & C) | (~B & D); g = i; }
            else if (i < 32) { F = (D & B) | (~D & C); g = (5 * i + 1) & 15; }
            else if (i < 48) { F = B ^ C ^ D; g = (3 * i + 5) & 15; }
            else { F = C ^ (B | ~D); g = (7 * i) & 15; }
            F = (F + A + MD5_K[i] + M[g]) | 0;
            const s = MD5_S[((i >> 4) << 2) | (i & 3)];
            A = D; D = C; C = B;
            B = (B + ((F << s) | (F >>> (32 - s)))) | 0;
        }
        a0 = (a0 + A) | 0; b0 = (b0 + B) | 0; c0 = (c0 + C) | 0; d0 = (d0 + D) | 0;
    }
    const out = new DataView(new ArrayBuffer(16));
    [a0, b0, c0, d0].forEach((w, i) => out.setInt32(4 * i, w, true));
    return hex(new Uint8Array(out.buffer));
}

function hex(bytes) {
    let s = '';
    for (const b of bytes)
        s += (b < 16 ? '0' : '') + b.toString(16);
    return s;
}

// ---------------------------------------------------------------------------
// Digest (RFC 4976 section 5: RFC 2617 with method "AUTH" and the AUTH's
// To-Path URI as digest-uri).

function parseChallenge(value) {
    const m = /^\s*Digest\s+(.*)$/i.exec(value || '');
    if (!m)
        throw new Error('challenge is not Digest: ' + value);
    const params = {};
    const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
    const rest = m[1];
    let p;
    while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null)
        params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    if (re.lastIndex < rest.length && rest.slice(re.lastIndex).trim() !== '')
        throw new Error('malformed challenge: ' + value);
    return params;
}

function digestResponse(user, realm, password, method, uri, nonce, nc, cnonce, qop) {
    const ha1 = md5(user + ':' + realm + ':' + password);
    const ha2 = md5(method + ':' + uri);
    if (qop)
        return md5([ha1, nonce, nc, cnonce, qop, ha2].join(':'));
    return md5(ha1 + ':' + nonce + ':' + ha2);
}

function authorization(challenge, user, password, uri, cnonce) {
    const c = parseChallenge(challenge);
    if (!c.nonce || c.realm === undefined)
        throw new Error('challenge without nonce or realm');
    if ((c.algorithm || 'MD5').toUpperCase() !== 'MD5')
        throw new Error('unsupported algorithm ' + c.algorithm);
    const qops = (c.qop || '').split(',').map(s => s.trim()).filter(Boolean);
    if (qops.length && !qops.includes('auth'))
        throw new Error('no usable qop in ' + challenge);
    const qop = qops.length ? 'auth' : '';
    const nc = '00000001';
    const resp = digestResponse(user, c.realm, password, 'AUTH', uri, c.nonce, nc, cnonce, qop);
    const parts = ['username="' + user + '"', 'realm="' + c.realm + '"',
                   'nonce="' + c.nonce + '"', 'uri="' + uri + '"', 'response="' + resp + '"'];
    if (qop)
        parts.push('qop=auth', 'nc=' + nc, 'cnonce="' + cnonce + '"');
    if (c.opaque !== undefined)
        parts.push('opaque="' + c.opaque + '"');
    return 'Digest ' + parts.join(', ');
}

// ---------------------------------------------------------------------------
// Random tokens: transaction ids, Message-IDs, session ids, .invalid hosts.

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function token(n) {
    const r = new Uint8Array(n);
    root.crypto.getRandomValues(r);
    let s = '';
    for (const b of r)
        s += ALNUM[b % 36];   // 256 % 36 bias: irrelevant for identifiers
    return s;
}

// ---------------------------------------------------------------------------
// URIs (RFC 4975 section 6) and their comparison (section 6.1).

const URI_RE = /^(msrps?):\/\/(?:[^@\/;]*@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\/([A-Za-z0-9._~%!$&'()*+,=:@-]+))?;([A-Za-z0-9-]+)((?:;[^;\s]+)*)$/i;

function parseUri(text) {
    const m = URI_RE.exec(text);
    if (!m)
        return null;
    const port = m[3] === undefined ? 2855 : Number(m[3]);
    if (port < 1 || port > 65535)
        return null;
    return { text: text, scheme: m[1].toLowerCase(), host: m[2].toLowerCase(), port: port,
             session: m[4] || '', transport: m[5].toLowerCase() };
}

function uriEqual(a, b) {
    return a.scheme === b.scheme && a.host === b.host && a.port === b.port &&
           a.session === b.session && a.transport === b.transport;
}

/* A path header's URIs, every one valid; null otherwise. */
function parsePath(value) {
    if (typeof value !== 'string' || value.trim() === '')
        return null;
    const uris = value.trim().split(/\s+/).map(parseUri);
    return uris.every(Boolean) ? uris : null;
}

function pathEqual(a, b) {
    return a.length === b.length && a.every((u, i) => uriEqual(u, b[i]));
}

// ---------------------------------------------------------------------------
// Frames. A Reader is fed bytes in any slices (one WebSocket message per
// chunk is what RFC 7977 asks, but a reader that needs it would be fragile)
// and calls onFrame with each complete frame.

const START_RE = /^MSRP ([A-Za-z0-9][A-Za-z0-9.+%=-]{3,31}) (?:([A-Z]+)|([0-9]{3})(?: (.*))?)$/;
const HEADER_RE = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+): ?(.*)$/;
const MAX_HEAD = 16384;

class Reader {
    constructor(maxFrame, onFrame) {
        this.maxFrame = maxFrame;
        this.onFrame = onFrame;
        this.buf = new Uint8Array(0);
        this.scan = 0;          // body bytes already searched for the end-line
        this.head = null;       // parsed start line + headers while in a body
    }

    feed(bytes) {
        if (this.buf.length === 0) {
            this.buf = bytes;
        } else {
            const b = new Uint8Array(this.buf.length + bytes.length);
            b.set(this.buf);
            b.set(bytes, this.buf.length);
            this.buf = b;
        }
        for (;;) {
            const used = this.step();
            if (used === 0)
                break;
            this.buf = this.buf.subarray(used);
            this.scan = 0;
            this.head = null;
        }
        if (this.buf.length > this.maxFrame)
            throw new Error('frame larger than ' + this.maxFrame + ' bytes');
    }

    /* Bytes used by one complete frame at the start of buf, or 0. */
    step() {
        if (!this.head) {
            const h = this.parseHead();
            if (!h)
                return 0;
            this.head = h;
        }
        const h = this.head;
        if (h.bodyAt < 0) {   // no body: the end-line came right after the headers
            this.onFrame(this.frame(h, null, h.flag));
            return h.end;
        }
        const tail = enc.encode('\r\n-------' + h.tid);
        const buf = this.buf;
        for (let i = Math.max(h.bodyAt - 2, this.scan); i + tail.length + 3 <= buf.length; i++) {
            if (buf[i] !== 13 || !matchAt(buf, i, tail))
                continue;
            const flag = buf[i + tail.length];
            if (buf[i + tail.length + 1] !== 13 || buf[i + tail.length + 2] !== 10 ||
                !(flag === 36 || flag === 43 || flag === 35))
                continue;   // not an end-line, part of the body
            const body = i >= h.bodyAt ? buf.slice(h.bodyAt, i) : new Uint8Array(0);
            this.onFrame(this.frame(h, body, String.fromCharCode(flag)));
            return i + tail.length + 3;
        }
        this.scan = Math.max(h.bodyAt - 2, buf.length - tail.length - 3);
        return 0;
    }

    frame(h, body, flag) {
        return { tid: h.tid, method: h.method, code: h.code, comment: h.comment,
                 headers: h.headers, body: body, flag: flag };
    }

    /* Start line and headers, up to the blank line or the end-line. */
    parseHead() {
        const buf = this.buf;
        let pos = 0, first = true, tid = null;
        const h = { headers: new Map(), bodyAt: -1 };
        for (;;) {
            const nl = indexCrlf(buf, pos);
            if (nl < 0) {
                if (buf.length > MAX_HEAD)
                    throw new Error('header section too long');
                return null;
            }
            const line = dec.decode(buf.subarray(pos, nl));
            pos = nl + 2;
            if (first) {
                const m = START_RE.exec(line);
                if (!m)
                    throw new Error('bad start line: ' + line.slice(0, 80));
                tid = m[1];
                h.tid = tid;
                h.method = m[2] || null;
                h.code = m[3] ? Number(m[3]) : null;
                h.comment = m[4] || '';
                first = false;
                continue;
            }
            if (line === '') {
                h.bodyAt = pos;
                return h;
            }
            if (line.length === 7 + tid.length + 1 && line.startsWith('-------' + tid)) {
                h.flag = line[line.length - 1];
                if ('$+#'.indexOf(h.flag) < 0)
                    throw new Error('bad end-line: ' + line);
                h.end = pos;
                return h;
            }
            const m = HEADER_RE.exec(line);
            if (!m)
                throw new Error('bad header line: ' + line.slice(0, 80));
            const name = m[1].toLowerCase();
            if (h.headers.has(name))
                throw new Error('repeated header ' + m[1]);
            h.headers.set(name, m[2]);
            if (pos > MAX_HEAD)
                throw new Error('header section too long');
        }
    }
}

function matchAt(buf, at, pat) {
    for (let j = 0; j < pat.length; j++)
        if (buf[at + j] !== pat[j])
            return false;
    return true;
}

function indexCrlf(buf, from) {
    for (let i = buf.indexOf(13, from); i >= 0 && i + 1 < buf.length; i = buf.indexOf(13, i + 1))
        if (buf[i + 1] === 10)
            return i;
    return -1;
}

/* One frame as bytes: start line, headers, then the body and its end-line
 * (a body needs the blank line before it), or the end-line alone. */
function buildFrame(start, tid, headers, body, flag) {
    let head = 'MSRP ' + tid + ' ' + start + '\r\n';
    for (const [n, v] of headers)
        head += n + ': ' + v + '\r\n';
    const end = '-------' + tid + (flag || '$') + '\r\n';
    if (!body)
        return enc.encode(head + end);
    const h = enc.encode(head + '\r\n'), e = enc.encode('\r\n' + end);
    const out = new Uint8Array(h.length + body.length + e.length);
    out.set(h);
    out.set(body, h.length);
    out.set(e, h.length + body.length);
    return out;
}

/* A transaction id whose end-line cannot occur in body (RFC 4975 7.1). */
function freshTid(body) {
    for (;;) {
        const tid = token(16);
        if (!body || !containsBytes(body, enc.encode('-------' + tid)))
            return tid;
    }
}

function containsBytes(buf, pat) {
    for (let i = buf.indexOf(pat[0]); i >= 0 && i + pat.length <= buf.length; i = buf.indexOf(pat[0], i + 1))
        if (matchAt(buf, i, pat))
            return true;
    return false;
}

const BYTE_RANGE_RE = /^([0-9]{1,15})-([0-9]{1,15}|\*)\/([0-9]{1,15}|\*)$/;

/* Byte-Range (RFC 4975 section 8.1), checked against the body length:
 * {start, end, total} with total null when "*"; throws on nonsense. */
function parseByteRange(value, bodyLen) {
    const m = BYTE_RANGE_RE.exec(value || '');
    if (!m)
        throw new Error('bad Byte-Range: ' + value);
    const start = Number(m[1]);
    const end = m[2] === '*' ? start + bodyLen - 1 : Number(m[2]);
    const total = m[3] === '*' ? null : Number(m[3]);
    if (start < 1)
        throw new Error('Byte-Range starts before 1: ' + value);
    if (end - start + 1 !== bodyLen)
        throw new Error('Byte-Range ' + value + ' does not match a body of ' + bodyLen + ' bytes');
    if (total !== null && end > total)
        throw new Error('Byte-Range ends past its total: ' + value);
    return { start: start, end: end, total: total };
}

// ---------------------------------------------------------------------------
// The client.

const STATUS_PHRASE = { 200: 'OK', 400: 'Bad Request', 413: 'Stop Sending Message',
                        415: 'Unsupported Media Type', 481: 'Session Does Not Exist',
                        501: 'Not Implemented' };

class MsrpError extends Error {
    constructor(code, msg) {
        super(msg);
        this.code = code;
    }
}

class Client {
    /*
     * opts: url (ws:// or wss://), user, password, relayUri (default from
     * url), maxMessage (bytes a received message may have, default 64 MiB),
     * timeoutMs (per transaction, default 30000), log(text), events:
     * onIncoming(msg) when a message starts, onReceiveProgress(msg),
     * onReceived(msg) when complete, onClose(reason).
     */
    constructor(opts) {
        this.opts = opts;
        const u = new URL(opts.url);
        if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
            throw new Error('relay URL must be ws:// or wss://');
        this.scheme = u.protocol === 'wss:' ? 'msrps' : 'msrp';
        const port = u.port || (u.protocol === 'wss:' ? '443' : '80');
        this.relayUri = opts.relayUri || this.scheme + '://' + u.hostname + ':' + port + ';ws';
        // RFC 7977 section 7: not reachable by anyone but our relay, so an
        // invalid host; the relay routes back over this connection.
        this.ownUri = this.scheme + '://' + token(12) + '.invalid:2855/' + token(20) + ';ws';
        this.own = parseUri(this.ownUri);
        this.usePath = null;        // parsed URIs from the AUTH 200
        this.pending = new Map();   // tid -> {resolve, reject, timer, method}
        this.incoming = new Map();  // Message-ID -> receive state
        this.peerFrom = null;       // From-Path of the first SEND, held after
        this.stats = { strayResponses: 0, refused: 0, badFrames: 0, refreshes: 0, refreshFailures: 0 };
        this.refreshTimer = null;   // the next AUTH before Expires runs out
        this.ws = null;
        this.closed = false;
        this.broken = false;        // framing lost: the connection is closing
        this.log = opts.log || (() => {});
        this.maxMessage = opts.maxMessage || 64 * 1048576;
        this.timeoutMs = opts.timeoutMs || 30000;
    }

    /* Open the WebSocket and AUTH; resolves with the Use-Path. */
    connect() {
        return new Promise((resolve, reject) => {
            const ws = new WebSocket(this.opts.url, 'msrp');
            ws.binaryType = 'arraybuffer';
            this.ws = ws;
            this.reader = new Reader(this.maxMessage + 65536, f => this.onFrame(f));
            ws.onopen = () => {
                if (ws.protocol !== 'msrp') {
                    ws.close(1002, 'no msrp subprotocol');
                    reject(new Error('relay did not accept the msrp subprotocol'));
                    return;
                }
                this.auth().then(resolve, e => {
                    ws.close(1000, 'AUTH failed');
                    reject(e);
                });
            };
            ws.onmessage = ev => {
                if (this.broken)
                    return;     // closing: what follows cannot be framed
                const bytes = typeof ev.data === 'string' ? enc.encode(ev.data) : new Uint8Array(ev.data);
                try {
                    this.reader.feed(bytes);
                } catch (e) {
                    // A stream we cannot frame cannot be resynchronised.
                    this.stats.badFrames++;
                    this.broken = true;
                    this.log('unparsable data from the relay: ' + e.message);
                    ws.close(1002, 'bad MSRP framing');
                }
            };
            ws.onerror = () => this.log('WebSocket error');
            ws.onclose = ev => {
                this.closed = true;
                this.stopRefresh();
                const why = 'WebSocket closed (' + ev.code + (ev.reason ? ' ' + ev.reason : '') + ')';
                this.log(why);
                for (const [, p] of this.pending) {
                    clearTimeout(p.timer);
                    p.reject(new Error(why));
                }
                this.pending.clear();
                reject(new Error(why));
                if (this.opts.onClose)
                    this.opts.onClose(why);
            };
        });
    }

    close() {
        this.stopRefresh();
        if (this.ws)
            this.ws.close(1000, 'done');
    }

    stopRefresh() {
        clearTimeout(this.refreshTimer);
        this.refreshTimer = null;
    }

    /* Send a request; resolves with its response frame. */
    request(method, headers, body, flag) {
        const tid = freshTid(body);
        const bytes = buildFrame(method, tid, headers, body, flag);
        return new Promise((resolve, reject) => {
            if (this.closed) {
                reject(new Error('connection closed'));
                return;
            }
            const timer = setTimeout(() => {
                this.pending.delete(tid);
                reject(new Error(method + ' ' + tid + ': no response within ' + this.timeoutMs + ' ms'));
            }, this.timeoutMs);
            this.pending.set(tid, { resolve, reject, timer, method });
            this.sendBytes(bytes, !body);
        });
    }

    /* One frame per WebSocket message (RFC 7977 section 5.2); frames
     * without a body are text, chunks binary (a body need not be UTF-8). */
    sendBytes(bytes, asText) {
        this.ws.send(asText ? dec.decode(bytes) : bytes);
    }

    async auth() {
        const hdrs = [['To-Path', this.relayUri], ['From-Path', this.ownUri]];
        let r = await this.request('AUTH', hdrs);
        if (r.code === 401) {
            const chal = r.headers.get('www-authenticate');
            if (!chal)
                throw new Error('401 without WWW-Authenticate');
            const authz = authorization(chal, this.opts.user, this.opts.password, this.relayUri, token(16));
            r = await this.request('AUTH', hdrs.concat([['Authorization', authz]]));
        }
        if (r.code !== 200)
            throw new MsrpError(r.code, 'relay refused AUTH: ' + r.code + ' ' + r.comment);
        const use = parsePath(r.headers.get('use-path'));
        if (!use)
            throw new Error('200 to AUTH without a valid Use-Path: ' + r.headers.get('use-path'));
        if (this.usePath && !this.usePath.every((u, i) => use[i] && uriEqual(u, use[i])))
            this.log('the relay changed our Use-Path on refresh: peers must be told the new path');
        this.usePath = use;
        this.log('authenticated; Use-Path ' + use.map(u => u.text).join(' '));
        this.scheduleRefresh(r.headers.get('expires'));
        return use;
    }

    /* RFC 4976 section 5.1: the reservation lasts Expires seconds; AUTH
     * again (a fresh round, as the first) before it runs out -- at 80% of
     * the lifetime, never more often than once a second. */
    scheduleRefresh(expires) {
        this.stopRefresh();
        const secs = /^[0-9]{1,10}$/.test(expires || '') ? Number(expires) : 0;
        if (secs <= 0 || this.closed)
            return;
        this.refreshTimer = setTimeout(() => {
            this.refreshTimer = null;
            this.auth().then(() => {
                this.stats.refreshes++;
            }, e => {
                // The reservation may hold until Expires; say so, go on.
                this.stats.refreshFailures++;
                this.log('AUTH refresh failed: ' + e.message);
            });
        }, Math.max(1000, secs * 800));
    }

    /* Our full path: what a peer puts in its To-Path (after its own relays). */
    path() {
        return this.usePath.map(u => u.text).concat([this.ownUri]).join(' ');
    }

    /*
     * Send bytes as one message to peerPath (the peer's URIs after our
     * relay: its relays' Use-Path and its own URI) in chunks of chunkSize,
     * at most `window` unanswered. onProgress(acked, total). Resolves with
     * the Message-ID once every chunk is answered 200.
     */
    async sendMessage(bytes, peerPath, opts) {
        const peer = parsePath(peerPath);
        if (!peer)
            throw new Error('bad peer path: ' + peerPath);
        const toPath = this.usePath.map(u => u.text).concat(peer.map(u => u.text)).join(' ');
        const chunk = opts.chunkSize || 65536;
        const win = opts.window || 8;
        const total = bytes.length;
        const msgId = token(20);
        let next = 0, acked = 0, failure = null;
        const inflight = new Set();
        const one = (start, end) => {
            const body = bytes.subarray(start, end);
            const hdrs = [['To-Path', toPath], ['From-Path', this.ownUri], ['Message-ID', msgId],
                          ['Failure-Report', 'yes'], ['Byte-Range', (start + 1) + '-' + end + '/' + total],
                          ['Content-Type', opts.contentType || 'application/octet-stream']];
            const p = this.request('SEND', hdrs, body.length ? body : null, end === total ? '$' : '+')
                .then(r => {
                    if (r.code !== 200)
                        throw new MsrpError(r.code, 'chunk ' + (start + 1) + '-' + end + ' refused: ' +
                                            r.code + ' ' + r.comment);
                    acked += end - start;
                    if (opts.onProgress)
                        opts.onProgress(acked, total);
                })
                .catch(e => { failure = failure || e; })
                .finally(() => inflight.delete(p));
            inflight.add(p);
        };
        do {
            while (!failure && inflight.size < win && (next < total || (total === 0 && next === 0))) {
                const end = Math.min(next + chunk, total);
                one(next, end);
                next = end === next ? 1 : end;   // an empty message is one chunk
            }
            if (inflight.size)
                await Promise.race(inflight);
        } while (!failure && (inflight.size || next < total));
        await Promise.allSettled([...inflight]);
        if (failure)
            throw failure;
        return msgId;
    }

    onFrame(f) {
        if (f.code !== null)
            this.onResponse(f);
        else
            this.onRequest(f);
    }

    onResponse(f) {
        const p = this.pending.get(f.tid);
        const to = parsePath(f.headers.get('to-path'));
        if (!p || !to || to.length !== 1 || !uriEqual(to[0], this.own)) {
            // Not ours: a relay that mixes up transactions must not
            // complete one of ours by accident.
            this.stats.strayResponses++;
            this.log('dropped a response ' + f.code + ' to ' + (p ? 'a path not ours' : 'unknown transaction ' + f.tid));
            return;
        }
        this.pending.delete(f.tid);
        clearTimeout(p.timer);
        p.resolve(f);
    }

    onRequest(f) {
        let r;
        try {
            if (f.method === 'SEND')
                r = this.onSend(f);
            else if (f.method === 'REPORT')
                r = this.onReport(f);
            else
                throw new MsrpError(501, 'method ' + f.method + ' not supported');
        } catch (e) {
            if (!(e instanceof MsrpError))
                throw e;
            this.stats.refused++;
            this.log('refused ' + f.method + ' ' + f.tid + ': ' + e.code + ' ' + e.message);
            this.respond(f, e.code);
            return;
        }
        if (r)
            this.respond(f, 200);
    }

    /* A response goes back the way the request came: To-Path is the
     * request's previous hop (RFC 4975 section 7.2), no REPORTs answered. */
    respond(f, code) {
        if (f.method === 'REPORT')
            return;
        const fr = (f.headers.get('failure-report') || 'yes').toLowerCase();
        if (fr === 'no' || (fr === 'partial' && code === 200))
            return;
        const from = parsePath(f.headers.get('from-path'));
        if (!from)
            return;     // nowhere to send it
        const hdrs = [['To-Path', from[0].text], ['From-Path', this.ownUri]];
        this.sendBytes(buildFrame(code + ' ' + (STATUS_PHRASE[code] || 'Error'), f.tid, hdrs, null, '$'), true);
    }

    /* Paths of a request to us: To-Path exactly our URI, From-Path our
     * relay (reverse Use-Path) then the sender, the same sender as before.
     * A REPORT may also come from our relay itself (a Failure REPORT it
     * generated): From-Path then ends at the relay. A REPORT is about what
     * we sent, so it is not held to the sender of the first SEND. */
    checkPaths(f, fromRelay) {
        const to = parsePath(f.headers.get('to-path'));
        const from = parsePath(f.headers.get('from-path'));
        if (!to || !from)
            throw new MsrpError(400, 'missing or malformed To-Path/From-Path');
        if (to.length !== 1 || !uriEqual(to[0], this.own))
            throw new MsrpError(481, 'To-Path is not us: ' + f.headers.get('to-path'));
        const relay = this.usePath.slice().reverse();
        if (fromRelay && from.length <= relay.length && pathEqual(from, relay.slice(0, from.length)))
            return from;
        if (from.length <= relay.length || !pathEqual(from.slice(0, relay.length), relay))
            throw new MsrpError(481, 'From-Path does not come through our relay: ' + f.headers.get('from-path'));
        if (!fromRelay && this.peerFrom && !pathEqual(from, this.peerFrom))
            throw new MsrpError(481, 'From-Path is not our peer\'s: ' + f.headers.get('from-path'));
        return from;
    }

    onSend(f) {
        if (!this.usePath)
            throw new MsrpError(481, 'not authenticated yet');
        const from = this.checkPaths(f);
        const msgId = f.headers.get('message-id');
        if (!msgId || !/^[A-Za-z0-9][A-Za-z0-9.+%=-]{3,31}$/.test(msgId))
            throw new MsrpError(400, 'missing or bad Message-ID');
        const body = f.body || new Uint8Array(0);
        let br;
        try {
            br = parseByteRange(f.headers.get('byte-range') || '1-*/*', body.length);
        } catch (e) {
            throw new MsrpError(400, e.message);
        }
        if (body.length && !f.headers.get('content-type'))
            throw new MsrpError(400, 'body without Content-Type');
        this.peerFrom = this.peerFrom || from;
        let m = this.incoming.get(msgId);
        if (!m) {
            if (br.total === 0 && !body.length && f.flag === '$')
                return true;    // an empty SEND: binds the session, carries nothing
            m = { id: msgId, total: br.total, size: br.total, got: 0, ranges: [], last: false,
                  aborted: false, done: false, contentType: f.headers.get('content-type') || '',
                  data: new Uint8Array(Math.min(br.total === null ? 1048576 : br.total, this.maxMessage)),
                  successReport: (f.headers.get('success-report') || 'no').toLowerCase() === 'yes',
                  from: from };
            if (br.total !== null && br.total > this.maxMessage)
                throw new MsrpError(413, 'message of ' + br.total + ' bytes is over ' + this.maxMessage);
            this.incoming.set(msgId, m);
            if (this.opts.onIncoming)
                this.opts.onIncoming(m);
        }
        if (m.done || m.aborted)
            throw new MsrpError(400, 'chunk for a finished message ' + msgId);
        if (br.total !== m.total)
            throw new MsrpError(400, 'Byte-Range total changed from ' + m.total + ' to ' + br.total);
        if (br.end > this.maxMessage)
            throw new MsrpError(413, 'message over ' + this.maxMessage + ' bytes');
        if (m.last && br.end > m.size)
            throw new MsrpError(400, 'bytes past the end of the message');
        this.store(m, br.start, body);
        if (f.flag === '#') {
            m.aborted = true;
            this.log('message ' + msgId + ' aborted by the sender');
        } else if (f.flag === '$') {
            m.last = true;
            if (m.total === null)
                m.size = br.end;
            else if (br.end !== m.total)
                throw new MsrpError(400, 'last chunk ends at ' + br.end + ' of ' + m.total);
        }
        if (this.opts.onReceiveProgress)
            this.opts.onReceiveProgress(m);
        if (m.last && m.got === m.size && !m.done) {
            m.done = true;
            m.bytes = m.data.subarray(0, m.size);
            if (m.successReport)
                this.sendSuccessReport(m);
            if (this.opts.onReceived)
                Promise.resolve().then(() => this.opts.onReceived(m));
        }
        return true;
    }

    /* Copy a chunk in and count the bytes not seen before: chunks may be
     * split or resent by relays, never double-counted. */
    store(m, start, body) {
        const s = start - 1, e = s + body.length;
        if (e > m.data.length) {
            const grown = new Uint8Array(Math.min(Math.max(e, m.data.length * 2), this.maxMessage));
            grown.set(m.data);
            m.data = grown;
        }
        m.data.set(body, s);
        let add = body.length;
        for (const [a, b] of m.ranges)
            add -= Math.max(0, Math.min(b, e) - Math.max(a, s));
        m.ranges.push([s, e]);
        m.ranges.sort((x, y) => x[0] - y[0]);
        const merged = [];
        for (const r of m.ranges) {
            const top = merged[merged.length - 1];
            if (top && r[0] <= top[1])
                top[1] = Math.max(top[1], r[1]);
            else
                merged.push(r.slice());
        }
        m.ranges = merged;
        m.got += add;
    }

    sendSuccessReport(m) {
        const hdrs = [['To-Path', m.from.map(u => u.text).join(' ')], ['From-Path', this.ownUri],
                      ['Message-ID', m.id], ['Byte-Range', '1-' + m.size + '/' + m.size],
                      ['Status', '000 200 OK']];
        this.sendBytes(buildFrame('REPORT', freshTid(null), hdrs, null, '$'), true);
    }

    onReport(f) {
        this.checkPaths(f, true);
        this.log('REPORT for ' + f.headers.get('message-id') + ': ' + f.headers.get('status'));
        return false;
    }
}

async function sha256hex(bytes) {
    return hex(new Uint8Array(await root.crypto.subtle.digest('SHA-256', bytes)));
}

/* Checks the parts that a peer cannot check for us; [] when all pass. */
function selftest() {
    const fails = [];
    const eq = (got, want, what) => { if (got !== want) fails.push(what + ': ' + got + ' != ' + want); };
    // RFC 1321 appendix A.5
    eq(md5(''), 'd41d8cd98f00b204e9800998ecf8427e', 'md5 ""');
    eq(md5('abc'), '900150983cd24fb0d6963f7d28e17f72', 'md5 abc');
    eq(md5('12345678901234567890123456789012345678901234567890123456789012345678901234567890'),
       '57edf4a22be3c955ac49da2e2107b67a', 'md5 80 digits');
    eq(md5('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'),
       'd174ab98d277d9f5a5611c2c9f419d9f', 'md5 62 chars');
    // RFC 2617 section 3.5's example (method GET)
    eq(digestResponse('Mufasa', 'testrealm@host.com', 'Circle Of Life', 'GET', '/dir/index.html',
                      'dcd98b7102dd2f0e8b11d0f600bfb0c093', '00000001', '0a4f113b', 'auth'),
       '6629fae49393a05397450978507c4ef1', 'digest RFC 2617');
    // A frame fed one byte at a time, with a body holding a false end-line.
    const body = enc.encode('x\r\n-------abcd$\r\ny');
    const bytes = buildFrame('SEND', 'abcde', [['To-Path', 'msrp://a.invalid/s;ws']], body, '+');
    const got = [];
    const rd = new Reader(1 << 20, f => got.push(f));
    for (let i = 0; i < bytes.length; i++)
        rd.feed(bytes.subarray(i, i + 1));
    eq(got.length, 1, 'frames parsed');
    if (got.length === 1) {
        eq(dec.decode(got[0].body), 'x\r\n-------abcd$\r\ny', 'body');
        eq(got[0].flag, '+', 'flag');
        eq(got[0].headers.get('to-path'), 'msrp://a.invalid/s;ws', 'header');
    }
    eq(uriEqual(parseUri('MSRP://Relay.Example:2855/Ab;WS'), parseUri('msrp://relay.example/Ab;ws')), true, 'uri equal');
    eq(uriEqual(parseUri('msrp://relay.example/ab;ws'), parseUri('msrp://relay.example/Ab;ws')), false, 'session case');
    let threw = false;
    try { parseByteRange('1-10/20', 9); } catch (e) { threw = true; }
    eq(threw, true, 'Byte-Range length mismatch refused');
    return fails;
}

const api = { md5, parseChallenge, digestResponse, authorization, parseUri, uriEqual, parsePath,
              Reader, buildFrame, parseByteRange, Client, MsrpError, sha256hex, selftest, token };
if (typeof module !== 'undefined' && module.exports)
    module.exports = api;
else
    root.Msrp = api;
})(typeof window !== 'undefined' ? window : globalThis);
