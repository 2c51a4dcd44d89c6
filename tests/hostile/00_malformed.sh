#!/bin/bash
# 00_malformed (issue 10, "classes that already pass"): malformed start
# lines and heads, NUL bytes, oversized header sections, paths of 100 URIs,
# an endless body, and pipelined frames split at every byte offset -- all
# while 50 bystander sessions transfer files through the same gateway.
#
# The reactions (README "Hostile peers"): a framing error closes the
# connection and counts drops{reason="parse_error"}; the 400 goes first
# when the head got far enough to address one (To-Path and From-Path
# parsed), otherwise the gateway closes without answering. A path of too
# many URIs fails where the header section ends, with both paths read: it
# gets "400 Too Many URIs In Path". NULs
# inside a body are data. An endless body streams to its next hop in
# max_chunk_out pieces (bounded memory; ended with '#' when the sender
# leaves) or is discarded after the 481 of an unknown session.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init 00_malformed
A="$PY $ATTACK"
gw_start GW
bystanders_start GW 50 32768 || it_done
rss_settle GW
rss_baseline GW
pe0=$(gw_metric GW msrpgw_drops_total 'reason="parse_error"')
r400=$(gw_metric GW msrpgw_responses_sent_total 'code="400"')

ME="msrp://127.0.0.1:$GW_PORT/nosuch;tcp"
TF="To-Path: $ME\r\nFrom-Path: msrp://127.0.0.1:9/tx;tcp\r\n"
PARSE_ERRORS=0
FRAMING_400=0   # framing errors answered with a 400 (responses_sent counts them)

# expect_raw NAME WANT_CODES WANT_CLOSED(yes|no) FRAMING_ERROR(yes|no) raw-args...
# starts one attack.py raw connection in the background (the cases run
# in parallel: most of their time is waiting); raw_results checks them.
CASES=()
CASE_PIDS=()
expect_raw() {
    local k=${#CASES[@]} wait=2
    CASES+=("$1|$2|$3")
    [ "$4" = yes ] && PARSE_ERRORS=$((PARSE_ERRORS + 1))
    [ "$4" = yes ] && [ "$2" = 400 ] && FRAMING_400=$((FRAMING_400 + 1))
    # A close ends the read at once: a long bound costs only a failure
    # (and keeps a loaded ASan run from failing). Staying open takes 2 s.
    [ "$3" = yes ] && wait=15
    shift 4
    $A raw --port "$GW_PORT" --wait $wait "$@" >$IT_DIR/case.$k.json &
    CASE_PIDS+=($!)
}

raw_results() {
    wait "${CASE_PIDS[@]}"     # not a bare wait: the gateway is a child too
    local k name want closed codes got_closed
    # One interpreter for all results: "codes|closed" per case, in order.
    mapfile -t RESULTS < <("$PY" -c 'import json,sys
for f in sys.argv[1:]:
    j = json.loads(open(f).read())
    print(",".join(str(r.get("code", r)) for r in j["responses"]) + "|" + ("yes" if j["closed"] else "no"))' \
        $(for k in "${!CASES[@]}"; do echo $IT_DIR/case.$k.json; done))
    for k in "${!CASES[@]}"; do
        IFS='|' read -r name want closed <<<"${CASES[$k]}"
        IFS='|' read -r codes got_closed <<<"${RESULTS[$k]}"
        check "[ '$codes' = '$want' ] && [ '$got_closed' = $closed ]" \
            "$name: responses [$codes] (want [$want]), closed $got_closed (want $closed)"
    done
}

# -- malformed start lines: nothing to answer, close -------------------------
expect_raw "garbage start line" "" yes yes --data 'GARBAGE\r\n'
expect_raw "start line without a method" "" yes yes --data 'MSRP abcd\r\n'
expect_raw "lower-case method" "" yes yes --data "MSRP abcd send\r\n$TF-------abcd\$\r\n"
expect_raw "transaction id of 2 characters" "" yes yes --data "MSRP ab SEND\r\n$TF-------ab\$\r\n"
expect_raw "transaction id of 40 characters" "" yes yes \
    --data "MSRP $(printf 'a%.0s' {1..40}) SEND\r\n$TF-------$(printf 'a%.0s' {1..40})\$\r\n"
expect_raw "a response to nothing is ignored" "" no no \
    --data "MSRP abcd 200 OK\r\n$TF-------abcd\$\r\n"

# -- malformed heads: 400 when To-Path and From-Path were parsed, close ------
expect_raw "header line without a colon" "400" yes yes \
    --data "MSRP abcd SEND\r\n${TF}Bad Header Line\r\n-------abcd\$\r\n"
expect_raw "bad Byte-Range" "400" yes yes \
    --data "MSRP abcd SEND\r\n${TF}Byte-Range: x\r\n-------abcd\$\r\n"
expect_raw "header before the paths malformed" "" yes yes \
    --data "MSRP abcd SEND\r\nBad Header Line\r\n$TF-------abcd\$\r\n"

# -- NUL bytes ---------------------------------------------------------------
expect_raw "NUL in the transaction id" "" yes yes --data 'MSRP ab\x00cd SEND\r\n'
expect_raw "NUL in a header value" "400" yes yes \
    --data "MSRP abcd SEND\r\n${TF}Message-ID: a\x00b\r\n-------abcd\$\r\n"
python3 -c 'import sys; sys.stdout.buffer.write(b"MSRP abcd SEND\r\n" + b"\0" * 1048576)' >$IT_DIR/nul
expect_raw "1 MiB of NULs after the start line" "" yes yes --data-file $IT_DIR/nul
expect_raw "NULs in a body are data (481: unknown session)" "481" no no \
    --data "MSRP abcd SEND\r\n${TF}Message-ID: n\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\na\x00\x00\x00e\r\n-------abcd\$\r\n"

# -- oversized header sections (max_header_bytes 16384, max_headers 32) ------
pad=$(printf 'a%.0s' {1..20000})
expect_raw "20 kB header line after the paths" "400" yes yes \
    --data "MSRP abcd SEND\r\n${TF}X-Pad: $pad\r\n-------abcd\$\r\n"
expect_raw "20 kB header line before the paths" "" yes yes \
    --data "MSRP abcd SEND\r\nX-Pad: $pad\r\n$TF-------abcd\$\r\n"
many=$(for i in $(seq 1 40); do printf 'X-H%d: v\\r\\n' $i; done)
expect_raw "40 header fields" "400" yes yes --data "MSRP abcd SEND\r\n${TF}$many-------abcd\$\r\n"

# -- paths of 100 URIs (max_path_uris 8) -------------------------------------
uris=$(for i in $(seq 1 100); do printf 'msrp://127.0.0.1:9/u%d;tcp ' $i; done)
uris=${uris% }
expect_raw "To-Path of 101 URIs" "400" yes yes \
    --data "MSRP abcd SEND\r\nTo-Path: $ME $uris\r\nFrom-Path: msrp://127.0.0.1:9/tx;tcp\r\n-------abcd\$\r\n"
expect_raw "From-Path of 100 URIs" "400" yes yes \
    --data "MSRP abcd SEND\r\nTo-Path: $ME\r\nFrom-Path: $uris\r\n-------abcd\$\r\n"
expect_raw "AUTH with a From-Path of 100 URIs" "400" yes yes \
    --data "MSRP abcd AUTH\r\nTo-Path: msrp://127.0.0.1:$GW_PORT;tcp\r\nFrom-Path: $uris\r\n-------abcd\$\r\n"
nine=$(for i in $(seq 1 8); do printf ' msrp://127.0.0.1:9/u%d;tcp' $i; done)
expect_raw "To-Path of 9 URIs (one over the limit)" "400" yes yes \
    --data "MSRP abcd SEND\r\nTo-Path: $ME$nine\r\nFrom-Path: msrp://127.0.0.1:9/tx;tcp\r\n-------abcd\$\r\n"
expect_raw "To-Path of 8 URIs is fine (481: unknown session)" "481" no no \
    --data "MSRP abcd SEND\r\nTo-Path: $ME${nine% msrp*}\r\nFrom-Path: msrp://127.0.0.1:9/tx;tcp\r\n-------abcd\$\r\n"

raw_results
wait_until 5 "[ \$((\$(gw_metric GW msrpgw_drops_total 'reason=\"parse_error\"') - $pe0)) -ge $PARSE_ERRORS ]"
pe1=$(gw_metric GW msrpgw_drops_total 'reason="parse_error"')
check "[ $((pe1 - pe0)) -eq $PARSE_ERRORS ]" \
    "drops{reason=\"parse_error\"} counted every framing error ($((pe1 - pe0)), want $PARSE_ERRORS)"
# The 400s the cases above got are all framing errors (the bystanders get
# none): responses_sent counts each once, like the relay's own 400s.
r400b=$(gw_metric GW msrpgw_responses_sent_total 'code="400"')
check "[ $((r400b - r400)) -eq $FRAMING_400 ]" \
    "responses_sent{code=\"400\"} counted every framing 400 ($((r400b - r400)), want $FRAMING_400)"
# The 400 for a path of too many URIs says why.
$A raw --port "$GW_PORT" --wait 15 \
    --data "MSRP abcd SEND\r\nTo-Path: $ME $uris\r\nFrom-Path: msrp://127.0.0.1:9/tx;tcp\r\n-------abcd\$\r\n" \
    >$IT_DIR/uris.json
check "[ \"\$(json_get $IT_DIR/uris.json '[(r.get(\"code\"), r.get(\"comment\")) for r in j[\"responses\"]] == [(400, \"Too Many URIs In Path\")]')\" = True ]" \
    "a To-Path of 101 URIs: 400 Too Many URIs In Path ($(json_get $IT_DIR/uris.json 'j["responses"]'))"

# -- endless bodies ----------------------------------------------------------
# To a receiver the attacker AUTHed itself: streamed in max_chunk_out
# (64 KiB) pieces, nothing buffered; the receiver sees the chunk end with
# '#' once the sender leaves.
$A endless --port "$GW_PORT" --receiver alice:secret --mbytes 8 --seconds 30 >$IT_DIR/endless.json
cat $IT_DIR/endless.json
check "[ \"\$(json_get $IT_DIR/endless.json 'j[\"sent\"] == 8 << 20 and j[\"receiver\"][\"bytes\"] == 8 << 20 and j[\"receiver\"][\"largest\"] == 65536 and j[\"receiver\"][\"flags\"].endswith(\"+#\") and j[\"responses\"] == [] and not j[\"closed\"]')\" = True ]" \
    "endless body to an AUTHed receiver: 8 MiB streamed in 64 KiB pieces, '#' when the sender left, no response"
rss_check GW 30000 "endless body streamed"
# To an unknown session: 481 at once, the body is read and discarded.
$A endless --port "$GW_PORT" --to-path "$ME msrp://127.0.0.1:9/x;tcp" --mbytes 8 --seconds 30 >$IT_DIR/endless2.json
cat $IT_DIR/endless2.json
check "[ \"\$(json_get $IT_DIR/endless2.json 'j[\"sent\"] == 8 << 20 and [r.get(\"code\") for r in j[\"responses\"]] == [481] and not j[\"closed\"]')\" = True ]" \
    "endless body to an unknown session: 481, the body discarded, the connection kept"

# -- pipelined frames split at every byte offset -----------------------------
# Three requests in one blob (481, 501, 481); every offset a two-write
# split on a fresh connection, then all of it one byte per write.
$A split --port "$GW_PORT" --mode offsets >$IT_DIR/split.json
check "[ \"\$(json_get $IT_DIR/split.json 'j[\"ok\"] and j[\"tries\"] > 500')\" = True ]" \
    "pipelined frames split at every byte offset: exact responses ($(json_get $IT_DIR/split.json 'j["tries"], j["bad"][:2]'))"
$A split --port "$GW_PORT" --mode bytes --gap 0.0002 >$IT_DIR/split1.json
check "[ \"\$(json_get $IT_DIR/split1.json 'j[\"ok\"]')\" = True ]" \
    "pipelined frames one byte per write: exact responses ($(json_get $IT_DIR/split1.json 'j["bad"][:2]'))"

rss_check GW 30000 "after the attacks"
bystanders_stop
gw_stop GW
it_done
