#!/bin/bash
# grafana_dashboard: tools/grafana/msrpgw-dashboard.json against a live
# msrpgw's /metrics, so that a renamed metric, label or label value breaks
# this test rather than a dashboard in production.
#  - the JSON parses; schemaVersion >= 36; a `datasource` variable of type
#    prometheus and an `instance` variable; every panel has a title, and
#    every non-row panel a datasource and targets with an expr;
#  - every metric name in every expr is a family of the live /metrics
#    (after one small msrpcat transfer through the relay, so the counters
#    exist with their values); every label an expr groups by or matches
#    (except Prometheus' own `instance`) is a label of that family, and
#    every value in a matcher (alternatives of =~ included) is one of the
#    values the family exports;
#  - README.md's metrics table names exactly the families of /metrics.
# DASHBOARD=FILE checks another file (to show the test can fail).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init grafana_dashboard
CAT=$MSRP_BUILD/tools/msrpcat
DASH=${DASHBOARD:-$MSRP_SRC/tools/grafana/msrpgw-dashboard.json}
IT_METRICS=127.0.0.1:0 gw_start GW

# One small transfer through the relay: chunks, bytes, AUTH and responses
# have non-zero samples.
head -c 20000 /dev/urandom >"$IT_DIR/f"
bg timeout 20 "$CAT" recv --relay 127.0.0.1:$GW_PORT --user alice --password secret \
    --out "$IT_DIR/r" --path-file "$IT_DIR/p"
R_PID=$LAST_PID
wait_file "$IT_DIR/p" 10 || check false "receiver AUTHed"
timeout 20 "$CAT" send "$IT_DIR/f" --to-path "$(cat "$IT_DIR/p")" --chunk-size 5000 \
    >/dev/null 2>"$IT_DIR/s.err"
rc=$?
check "[ $rc -eq 0 ]" "msrpcat sends 20000 bytes through msrpgw"
wait "$R_PID"
check 'cmp -s "$IT_DIR/f" "$IT_DIR/r"' "the file arrives intact"

curl -s --max-time 5 "http://127.0.0.1:$GW_MPORT/metrics" >"$IT_DIR/metrics.txt"
check '[ -s "$IT_DIR/metrics.txt" ]' "/metrics answers"

python3 - "$DASH" "$IT_DIR/metrics.txt" "$MSRP_SRC/README.md" >"$IT_DIR/check.txt" 2>&1 <<'EOF'
import json, re, sys
dash_file, metrics_file, readme_file = sys.argv[1:4]
errors = []
try:
    d = json.load(open(dash_file))
except ValueError as e:
    print("FAIL: %s is not valid JSON: %s" % (dash_file, e))
    sys.exit(1)

# Live families: name -> {label: set(values)}.
fams = {}
for line in open(metrics_file):
    m = re.match(r"# TYPE (\w+) ", line)
    if m:
        fams[m.group(1)] = {}
        continue
    m = re.match(r"(\w+)\{(.*)\} \d+$", line.strip())
    if m and m.group(1) in fams:
        for k, v in re.findall(r'(\w+)="([^"]*)"', m.group(2)):
            fams[m.group(1)].setdefault(k, set()).add(v)
if len(fams) < 20:
    errors.append("only %d families in /metrics" % len(fams))

if d.get("schemaVersion", 0) < 36:
    errors.append("schemaVersion %r < 36" % d.get("schemaVersion"))
tvars = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
ds = tvars.get("datasource", {})
if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    errors.append("no `datasource` variable of type prometheus")
if "instance" not in tvars:
    errors.append("no `instance` variable")

def check_expr(where, expr):
    names = set(re.findall(r"\bmsrpgw_\w+", expr))
    if not names:
        errors.append("%s: no msrpgw metric in %r" % (where, expr))
    for n in names:
        if n not in fams:
            errors.append("%s: %s is not in /metrics" % (where, n))
    known = set()
    for n in names:
        known |= set(fams.get(n, {}))
    labels = {}
    # Grouping: by (a, b) / without (a).
    for grp in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        for l in filter(None, (s.strip() for s in grp.split(","))):
            labels.setdefault(l, set())
    # Matchers inside {...}: label op "value".
    for sel in re.findall(r"\{([^}]*)\}", expr):
        for l, op, v in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', sel):
            vals = labels.setdefault(l, set())
            if op in ("=~", "!~"):
                vals.update(a for a in v.split("|") if a and a != ".*")
            else:
                vals.add(v)
    for l, vals in labels.items():
        if l == "instance":  # added by Prometheus at scrape time
            continue
        if l not in known:
            errors.append("%s: label %s is not exported by %s" % (where, l, sorted(names)))
            continue
        exported = set()
        for n in names:
            exported |= fams.get(n, {}).get(l, set())
        for v in vals:
            if v not in exported:
                errors.append("%s: %s=%r is not a value /metrics has" % (where, l, v))

npanels = nexpr = 0
def walk(panels):
    global npanels, nexpr
    for p in panels:
        where = "panel %r" % p.get("title")
        if not p.get("title"):
            errors.append("panel id %r has no title" % p.get("id"))
        if p.get("type") == "row":
            walk(p.get("panels", []))
            continue
        npanels += 1
        if not p.get("datasource"):
            errors.append("%s: no datasource" % where)
        if not p.get("targets"):
            errors.append("%s: no targets" % where)
        for t in p.get("targets", []):
            if not t.get("expr"):
                errors.append("%s: target without expr" % where)
                continue
            nexpr += 1
            check_expr(where, t["expr"])
walk(d.get("panels", []))
for v in tvars.values():
    q = v.get("query")
    if isinstance(q, dict) and "msrpgw_" in q.get("query", ""):
        check_expr("variable %s" % v["name"], q["query"])

# README's metrics table: one row per family, `name` in the first column.
readme = open(readme_file).read()
listed = set()
for first in re.findall(r"^\| (`msrpgw_[^|]*)\|", readme, re.M):
    listed.update(re.findall(r"`(msrpgw_\w+)`", first))
for n in sorted(set(fams) - listed):
    errors.append("README.md's metrics table lacks %s" % n)
for n in sorted(listed - set(fams)):
    errors.append("README.md's metrics table lists %s, not in /metrics" % n)

for e in errors:
    print("FAIL:", e)
print("%d panels, %d exprs, %d families, %d errors" % (npanels, nexpr, len(fams), len(errors)))
sys.exit(1 if errors else 0)
EOF
rc=$?
check "[ $rc -eq 0 ]" "dashboard and README match /metrics: $(tail -1 "$IT_DIR/check.txt")"
[ $rc -eq 0 ] || cat "$IT_DIR/check.txt"
gw_stop GW
it_done
