#!/bin/bash
# lint.layering: the folders of gateway/ depend on each other one way only
# (README "Layout", gateway/CMakeLists.txt). Every #include "gateway/X/..."
# in gateway/Y/ must name a folder Y may use; a file outside the folders
# (a new flat gateway/*.c) fails too; inside session/, the core calls
# nothing of the layers above it. Prints every offending line.
set -u
src=${MSRP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
declare -A MAY=(
    [common]=""
    [wire]=""
    [obs]=""
    [session]="wire"
    [relay]="wire obs common"
    [ng]="relay wire obs common"
    [daemon]="ng relay wire obs common session"
    [lib]="session wire include"
    [include]=""
)
bad=0
for f in "$src"/gateway/*.c "$src"/gateway/*.h; do
    [ -e "$f" ] || continue
    echo "FAIL ${f#$src/}: a source file outside gateway's folders"
    bad=$((bad + 1))
done
checked=0
while IFS= read -r f; do
    rel=${f#$src/gateway/}
    dir=${rel%%/*}
    if [ -z "${MAY[$dir]+set}" ]; then
        echo "FAIL gateway/$rel: folder $dir is not in the layering table"
        bad=$((bad + 1))
        continue
    fi
    while IFS=: read -r line inc; do
        to=$(sed -n 's|.*#include "gateway/\([a-z_]*\)/.*|\1|p' <<<"$inc")
        [ -n "$to" ] || continue
        checked=$((checked + 1))
        [ "$to" = "$dir" ] && continue
        case " ${MAY[$dir]} " in
            *" $to "*) ;;
            *) echo "FAIL gateway/$rel:$line: $dir may not include $to:${inc#*#include}"
               bad=$((bad + 1)) ;;
        esac
    done < <(grep -n '#include "gateway/' "$f")
done < <(find "$src/gateway" -mindepth 2 -name '*.[ch]' | sort)
# Nothing outside gateway/ that the library exports may reach into the
# relay or the daemon (proto/ and uring/ know no gateway at all).
while IFS= read -r hit; do
    echo "FAIL $hit: proto/ and uring/ include nothing of gateway/"
    bad=$((bad + 1))
done < <(cd "$src" && grep -rn '#include "gateway/' proto uring)
# Inside session/: the core (session.c, session_in.c, session_tx.c) calls
# nothing of the layers above it (filequeue.c, endpoint.c, relayconn.c):
# they attach hooks (struct gw_session_hook). No function those files
# define may appear in a core file.
upper="filequeue endpoint relayconn"
for u in $upper; do
    for fn in $(grep -o '^[a-z][a-z_ ]*[ *]\(gw_[a-z_0-9]*\)(' "$src/gateway/session/$u.c" |
                grep -o 'gw_[a-z_0-9]*' | sort -u); do
        for core in session session_in session_tx; do
            checked=$((checked + 1))
            if grep -qw "$fn" "$src/gateway/session/$core.c"; then
                echo "FAIL gateway/session/$core.c calls $fn of $u.c (a layer above the core)"
                bad=$((bad + 1))
            fi
        done
    done
done
echo "layering: $checked gateway includes and calls checked, $bad violations"
[ "$bad" -eq 0 ]
