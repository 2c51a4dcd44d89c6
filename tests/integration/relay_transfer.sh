#!/bin/bash
# relay_transfer: files of 0 B .. 8 MiB from msrp_probe (sender, no AUTH)
# to msrp_probe (receiver, Digest AUTH) through msrpgw; sha256 must match.
# Also open-ended Byte-Ranges, and 256 KiB chunks split by the relay into
# max_chunk_out pieces (the receiver must see more chunks than were sent).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_transfer
gw_start GW "max_chunk_out = 64KiB"

transfer() { # name size chunk [probe send options...]
    local name=$1 size=$2 chunk=$3; shift 3
    local d=$IT_DIR/$name
    mkdir -p "$d"
    head -c "$size" /dev/urandom >"$d/in"
    bg timeout 60 python3 "$PROBE" recv --relay 127.0.0.1:$GW_PORT --out "$d/out" \
        --ready-file "$d/ready" --user alice --password secret --timeout 50 >"$d/recv.json"
    local rpid=$LAST_PID
    wait_file "$d/ready" 10 || { check false "$name: receiver ready"; return; }
    timeout 60 python3 "$PROBE" send --to-path "$(cat "$d/ready")" --chunk "$chunk" "$@" \
        "$d/in" >"$d/send.json"
    local src=$?
    wait $rpid
    local rrc=$?
    check "[ $src -eq 0 ] && [ $rrc -eq 0 ]" "$name: sender and receiver succeed"
    check "[ \"$(sha256sum <"$d/in" | cut -d' ' -f1)\" = \"$(sha256sum <"$d/out" | cut -d' ' -f1)\" ]" \
        "$name: $size bytes arrive intact (sha256)"
    check "[ \"$(json_get "$d/recv.json" 'j["auth_codes"]')\" = '[401, 200]' ]" \
        "$name: receiver AUTH is challenged once, then 200"
}

transfer empty 0 2048
transfer one 1 2048
transfer small 10000 2048
transfer mib 1048576 65536
transfer big8 8388608 65536 --window 4
transfer openrange 300000 30000 --open-range

# Split: 256 KiB chunks leave as 64 KiB pieces: 1 MiB = 4 chunks in, 16 out.
transfer split 1048576 262144
check "[ \"$(json_get "$IT_DIR/split/recv.json" 'j["messages"][0]["chunks"]')\" = 16 ]" \
    "split: 4 chunks of 256 KiB reach the receiver as 16 pieces of 64 KiB"
check "[ \"$(json_get "$IT_DIR/split/send.json" 'j["codes"]')\" = \"{'200': 4}\" ]" \
    "split: the sender gets exactly one 200 per chunk it sent"

gw_stop GW
it_done
