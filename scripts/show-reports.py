#!/usr/bin/env python3
"""Prints what one fdw-report invocation answered and, for each report, its
stored result table (first rows) read back from fdw_reports on cluster A as
users_admin over TLS. Usage: show-reports.py <cargo lambda invoke output>.
Needs the stack's env (PG_BIN, PG_A_HOST, PG_A_PORT, FDW_CA_BUNDLE, USERS_ADMIN_PASSWORD)."""
import json
import os
import subprocess
import sys

FIRST_ROWS = 8
reports = json.load(open(sys.argv[1]))["reports"]
for r in reports:
    print(f"  {r['report']:32} {r['window_start'][:10]}..{r['window_end'][:10]}  {r['status']:12} "
          f"rows={r['rows']}  {r['duration_ms']} ms  flagged={r['flagged']}")

# Report names are [a-z0-9_] (the catalog refuses others) and times are RFC 3339.
keys = ", ".join(f"('{r['report']}', '{r['window_start']}'::timestamptz, '{r['window_end']}'::timestamptz)"
                 for r in reports)
sql = ("SELECT json_build_object('report', r.report, 'window', r.window_start::date || '..' || r.window_end::date,"
       " 'rows', coalesce((SELECT json_agg(x.row ORDER BY x.row_no) FROM fdw_reports.results x"
       " WHERE (x.report, x.window_start, x.window_end) = (r.report, r.window_start, r.window_end)"
       f" AND x.row_no <= {FIRST_ROWS}), '[]'))"
       f" FROM fdw_reports.runs r WHERE (r.report, r.window_start, r.window_end) IN ({keys}) ORDER BY r.report")
env = dict(os.environ, PGPASSWORD=os.environ["USERS_ADMIN_PASSWORD"], PGTZ="UTC")
conninfo = (f"host={env['PG_A_HOST']} port={env['PG_A_PORT']} dbname=users user=users_admin "
            f"sslmode=verify-full sslrootcert={env['FDW_CA_BUNDLE']}")
out = subprocess.run([f"{env['PG_BIN']}/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql],
                     env=env, check=True, capture_output=True, text=True).stdout
for line in out.splitlines():
    table = json.loads(line)
    rows = table["rows"]
    cols = list(rows[0]) if rows else []
    print(f"\n  fdw_reports.results: {table['report']} {table['window']} (first {len(rows)} rows)")
    cells = [["" if row[c] is None else str(row[c]) for c in cols] for row in rows]
    width = [max([len(c)] + [len(x[i]) for x in cells]) for i, c in enumerate(cols)]
    print("  " + " | ".join(c.ljust(width[i]) for i, c in enumerate(cols)))
    print("  " + "-+-".join("-" * n for n in width))
    for x in cells:
        print("  " + " | ".join(v.ljust(width[i]) for i, v in enumerate(x)))
