/*
 * demo.js: the page's glue around msrp.js. Everything a test needs to
 * judge lives in window.demoState (a plain object, JSON-serialisable):
 * phase idle|connecting|ready|closed|error, the client's path, the sent
 * and received message (state, bytes, total, sha256), the client's
 * counters and the self-test's failures.
 */
(function () {
'use strict';
const $ = id => document.getElementById(id);
const q = new URLSearchParams(location.search);
const state = window.demoState = {
    phase: 'idle', error: null, path: null, selftest: Msrp.selftest(),
    sent: { state: 'idle', bytes: 0, total: 0, sha256: null, error: null },
    received: { state: 'waiting', bytes: 0, total: null, sha256: null, error: null, messages: 0 },
    stats: null, log: []
};
let client = null;

function log(text) {
    const line = new Date().toISOString().slice(11, 23) + ' ' + text;
    state.log.push(line);
    $('log').textContent += line + '\n';
}

function mib(n) {
    return (n / 1048576).toFixed(2) + ' MiB';
}

function setPhase(p, err) {
    state.phase = p;
    if (err) {
        state.error = err;
        log('error: ' + err);
    }
    const b = $('connstate');
    b.textContent = err ? p + ': ' + err : p;
    b.className = 'badge ' + p;
    $('sendbtn').disabled = p !== 'ready';
}

async function connect() {
    if (client)
        client.close();
    setPhase('connecting');
    try {
        client = new Msrp.Client({
            url: $('ws').value, user: $('user').value, password: $('password').value,
            relayUri: q.get('relay') || undefined, log: log,
            onIncoming: onIncoming, onReceiveProgress: onReceiveProgress, onReceived: onReceived,
            onClose: why => { if (state.phase === 'ready') setPhase('closed'); state.stats = client.stats; }
        });
        await client.connect();
    } catch (e) {
        setPhase('error', e.message);
        return;
    }
    state.path = client.path();
    $('mypath').textContent = state.path;
    setPhase('ready');
}

async function sendFile() {
    const f = $('file').files[0];
    if (!f) {
        log('choose a file first');
        return;
    }
    const s = state.sent;
    Object.assign(s, { state: 'reading', bytes: 0, total: f.size, sha256: null, error: null, name: f.name });
    const bytes = new Uint8Array(await f.arrayBuffer());
    s.sha256 = await Msrp.sha256hex(bytes);
    $('sendsha').textContent = s.sha256;
    s.state = 'sending';
    const t0 = performance.now();
    log('sending ' + f.name + ' (' + bytes.length + ' bytes) to ' + $('to').value);
    try {
        const id = await client.sendMessage(bytes, $('to').value, {
            chunkSize: Number(q.get('chunk')) || 65536, window: Number(q.get('window')) || 8,
            contentType: f.type || 'application/octet-stream',
            onProgress: (done, total) => {
                s.bytes = done;
                $('sendbar').value = total ? done / total : 1;
                $('sendtxt').textContent = mib(done) + ' of ' + mib(total);
            }
        });
        s.messageId = id;
        s.ms = Math.round(performance.now() - t0);
        s.state = 'done';
        $('sendbar').value = 1;
        $('sendtxt').textContent = mib(bytes.length) + ' sent, every chunk answered 200 (' + s.ms + ' ms)';
        log('sent message ' + id);
    } catch (e) {
        s.state = 'failed';
        s.error = e.message;
        $('sendtxt').textContent = 'failed: ' + e.message;
        log('send failed: ' + e.message);
    }
    state.stats = client.stats;
}

function onIncoming(m) {
    state.received.messages++;
    Object.assign(state.received, { state: 'receiving', bytes: 0, total: m.total, sha256: null, id: m.id });
    log('incoming message ' + m.id + ' (' + (m.total === null ? 'size unknown' : m.total + ' bytes') +
        ', ' + m.contentType + ') from ' + m.from.map(u => u.text).join(' '));
}

function onReceiveProgress(m) {
    const r = state.received;
    r.bytes = m.got;
    if (m.aborted) {
        r.state = 'aborted';
        $('recvtxt').textContent = 'aborted by the sender after ' + mib(m.got);
        return;
    }
    $('recvbar').value = m.size ? m.got / m.size : 0;
    $('recvtxt').textContent = mib(m.got) + (m.size === null ? '' : ' of ' + mib(m.size));
}

async function onReceived(m) {
    const r = state.received;
    r.sha256 = await Msrp.sha256hex(m.bytes);
    r.total = m.size;
    r.state = 'done';
    state.stats = client.stats;
    $('recvbar').value = 1;
    $('recvtxt').textContent = mib(m.size) + ' received, complete';
    $('recvsha').textContent = r.sha256;
    const a = $('save');
    a.href = URL.createObjectURL(new Blob([m.bytes], { type: m.contentType || 'application/octet-stream' }));
    a.hidden = false;
    log('received message ' + m.id + ': ' + m.size + ' bytes, sha256 ' + r.sha256);
}

for (const k of ['ws', 'user', 'password', 'to'])
    if (q.has(k))
        $(k).value = q.get(k);
$('connect').onclick = connect;
window.demoDisconnect = () => { if (client) client.close(); };
$('sendbtn').onclick = sendFile;
if (state.selftest.length)
    log('SELF-TEST FAILED: ' + state.selftest.join('; '));
if (q.get('auto') === '1')
    connect();
})();
