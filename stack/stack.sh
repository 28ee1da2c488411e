#!/usr/bin/env bash
# Local stack for fdw-bridge: two PostgreSQL clusters (TLS, scram), moto (Secrets
# Manager + RDS) and a ResponseURL stand-in. See stack/README.md.
# Each cluster runs PostgreSQL $PG_MAJOR (default 16, the template's default), or
# $PG_MAJOR_A / $PG_MAJOR_B for one of them (15, 16 or 17: stack/postgres-versions.tsv);
# a cluster whose data directory is of another major is made again.
#
#   stack.sh up [--users N] [--orders M] [--with-c] [--with-b-replica]
#                                          start (idempotent; reloads data if scale differs);
#                                          --with-c (or FDW_STACK_CLUSTERS=abc) adds cluster C, db
#                                          payments, a second remote cluster; kept until down --purge;
#                                          --with-b-replica (or FDW_STACK_B_REPLICA=1) adds a streaming
#                                          replica of B (B's "reader endpoint"); kept until down --purge
#   stack.sh status                        component status (non-zero if anything is down)
#   stack.sh down [--purge]                stop everything (--purge: delete all state)
#   stack.sh pg-stop a|b|c|b-replica / pg-start a|b|c|b-replica  stop/start one cluster (same port)
#   stack.sh env                           print the path of the env file
#   stack.sh psql a|b|c [psql args...]     superuser psql over the unix socket
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${FDW_STACK_DIR:-$REPO/.stack}"
[[ "$STACK" == /* ]] || STACK="$PWD/$STACK"
VENV="${FDW_VENV:-$REPO/.venv}"
# Client tools (psql, pg_isready) for every major: Debian's postgresql-client-15.
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
WANT_MAJOR_A="${PG_MAJOR_A:-${PG_MAJOR:-16}}"
WANT_MAJOR_B="${PG_MAJOR_B:-${PG_MAJOR:-16}}"
WANT_MAJOR_C="${PG_MAJOR_C:-${PG_MAJOR:-16}}"
# Cluster C (opt-in): asked for by up --with-c or FDW_STACK_CLUSTERS=abc; a stack that has one keeps it.
WANT_C=0; [[ "${FDW_STACK_CLUSTERS:-}" == *c* ]] && WANT_C=1
# B's streaming replica (opt-in, internally cluster "r"): up --with-b-replica or FDW_STACK_B_REPLICA=1.
WANT_R=0; [[ "${FDW_STACK_B_REPLICA:-}" == 1 ]] && WANT_R=1
R_SLOT=fdw_stack_b_replica   # B's physical replication slot: B keeps the WAL the replica has not had
SCALE_CF="$STACK/scale-c" # "<users> <payments>" of cluster C's loaded data
STATE="$STACK/state"      # ports, passwords, data location (kept across down/up)
ENVF="$STACK/env"         # what tests / the harness source
SCALEF="$STACK/scale"     # "<users> <orders>" of the loaded data
SQL="$REPO/stack/sql"
DEFAULT_USERS=1000
DEFAULT_ORDERS=10000

say() { echo "[stack] $*"; }
die() { echo "[stack] error: $*" >&2; exit 1; }

if [[ -x "$VENV/bin/python" ]]; then PYTHON_BIN="$VENV/bin/python"; else PYTHON_BIN="$(command -v python3 || echo /usr/bin/python3)"; fi

# Run a command as the postgres OS user (initdb/pg_ctl refuse root). cwd / so that an
# untraversable cwd (e.g. under /root) does not bother it.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@")
  else (cd / && "$@"); fi
}

free_port() {
  "$PYTHON_BIN" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port_free() {
  "$PYTHON_BIN" - "$1" <<'PY'
import socket, sys
s = socket.socket()
# Like the servers themselves: TIME_WAIT leftovers of old connections do not make a port busy.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}
# Pick a free port that is not in the exclusion list.
new_port() {
  local p
  while :; do p="$(free_port)"; [[ " $* " == *" $p "* ]] || { echo "$p"; return; }; done
}

# A state written before the stack ran other majors ran PostgreSQL 15 on both clusters.
load_state() { [[ -f "$STATE" ]] && source "$STATE" && : "${PG_A_MAJOR:=15}" "${PG_B_MAJOR:=15}"; }
save_state() {
  local tmp="$STATE.tmp"
  rm -f "$tmp"; (umask 077; : > "$tmp")
  ( for k in PGROOT PG_A_MAJOR PG_B_MAJOR PG_A_PORT PG_B_PORT MOTO_PORT LISTENER_PORT USERS_ADMIN_PASSWORD \
             ORDERS_ADMIN_PASSWORD REPORT_READER_PASSWORD FDW_ROLE_PASSWORD PG_C_MAJOR PG_C_PORT PAYMENTS_ADMIN_PASSWORD \
             PG_R_PORT; do
      printf "%s='%s'\n" "$k" "${!k:-}"
    done >> "$tmp" )
  mv -f "$tmp" "$STATE"
}

# Paths derived from the state.
derive() {
  PG_A_DIR="$PGROOT/pg-a"; PG_A_DATA="$PG_A_DIR/data"; PG_A_SOCKET_DIR="$PG_A_DIR/sock"; PG_A_LOG="$PGROOT/pg-a.log"
  PG_B_DIR="$PGROOT/pg-b"; PG_B_DATA="$PG_B_DIR/data"; PG_B_SOCKET_DIR="$PG_B_DIR/sock"; PG_B_LOG="$PGROOT/pg-b.log"
  PG_C_DIR="$PGROOT/pg-c"; PG_C_DATA="$PG_C_DIR/data"; PG_C_SOCKET_DIR="$PG_C_DIR/sock"; PG_C_LOG="$PGROOT/pg-c.log"
  PG_R_DIR="$PGROOT/pg-b-replica"; PG_R_DATA="$PG_R_DIR/data"; PG_R_SOCKET_DIR="$PG_R_DIR/sock"; PG_R_LOG="$PGROOT/pg-b-replica.log"
  PG_R_MAJOR="${PG_B_MAJOR:-}"   # a streaming replica runs its primary's major
}
has_c() { [[ -n "${PG_C_PORT:-}" ]]; }   # this stack has cluster C
has_r() { [[ -n "${PG_R_PORT:-}" ]]; }   # this stack has B's streaming replica
name_of() { if [[ $1 == r ]]; then echo b-replica; else echo "$1"; fi; }   # a cluster as messages name it
cl() {  # cl a|b FIELD -> value
  local x="${1^^}" f="$2"; local v="PG_${x}_${f}"; echo "${!v}"
}
# The server binaries (initdb, pg_ctl, postgres) of cluster a|b's major, installed when missing.
server_bin() {
  local major; major="$(cl "$1" MAJOR)"
  [[ -n "$major" ]] || die "cluster $1 has no PostgreSQL major in $STATE (run: stack/stack.sh down --purge, then up)"
  "$REPO/scripts/install-postgres.sh" --bin "$major"
}

need_state() {
  load_state || die "no stack state in $STACK (run: stack/stack.sh up)"
  derive
}

# --------------------------------------------------------------------------- TLS
make_tls() {
  local t="$STACK/tls"
  if [[ -s "$t/ca.pem" && -s "$t/server.crt" && -s "$t/server.key" && -s "$t/rogue-ca.pem" ]]; then return; fi
  say "creating TLS CA + server certificate ($t)"
  rm -rf "$t"; mkdir -p "$t"; chmod 755 "$t"
  local ossl=(openssl)
  "${ossl[@]}" req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$t/ca.key" -out "$t/ca.pem" -subj "/CN=fdw-bridge local test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  "${ossl[@]}" req -new -nodes -newkey rsa:2048 -sha256 \
    -keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > "$t/server.ext"
  "${ossl[@]}" x509 -req -sha256 -days 825 -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
    -CAcreateserial -out "$t/server.crt" -extfile "$t/server.ext" 2>/dev/null
  # An unrelated CA: verifying the servers against it must fail.
  "${ossl[@]}" req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$t/rogue-ca.key" -out "$t/rogue-ca.pem" -subj "/CN=fdw-bridge rogue CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$t"/*.key; chmod 644 "$t"/*.pem "$t/server.crt"
  chown postgres:postgres "$t/server.key" 2>/dev/null || true
  rm -f "$t/server.csr" "$t/ca.srl"
}

# ----------------------------------------------------------------------- postgres
choose_pgroot() {
  # Data dirs must be reachable by the postgres user and socket paths short (<108 bytes).
  chmod 755 "$STACK"
  local sock="$STACK/pg-a/sock/.s.PGSQL.65535"
  if (( ${#sock} <= 100 )) && as_pg test -x "$STACK"; then
    PGROOT="$STACK"
  else
    PGROOT="/tmp/fdw-bridge-$(printf %s "$STACK" | sha256sum | cut -c1-12)"
    say "postgres cannot reach $STACK (or path too long): data under $PGROOT"
  fi
}

pg_running() { as_pg "$(server_bin "$1")/pg_ctl" -D "$(cl "$1" DATA)" status >/dev/null 2>&1; }
pg_ready() { "$PG_BIN/pg_isready" -q -h "$(cl "$1" SOCKET_DIR)" -p "$(cl "$1" PORT)" -t 2 >/dev/null 2>&1; }

init_cluster() {
  local x="$1" dir data sock log
  dir="$(cl "$x" DIR)"; data="$(cl "$x" DATA)"; sock="$(cl "$x" SOCKET_DIR)"; log="$(cl "$x" LOG)"
  mkdir -p "$PGROOT"; chmod 755 "$PGROOT"
  if [[ -f "$data/PG_VERSION" && "$(cat "$data/PG_VERSION")" != "$(cl "$x" MAJOR)" ]]; then
    say "cluster $x holds PostgreSQL $(cat "$data/PG_VERSION") data; PostgreSQL $(cl "$x" MAJOR) asked for: making it again"
    rm -rf "$data"
  fi
  if [[ $x == r && -f "$data/PG_VERSION" && "${B_MADE_AGAIN:-0}" == 1 ]]; then
    say "cluster b was made again: its replica is made again too"; rm -rf "$data"
  fi
  if [[ $x == r && ! -f "$data/PG_VERSION" ]]; then
    base_backup_of_b
  elif [[ ! -f "$data/PG_VERSION" ]]; then
    [[ $x == b ]] && B_MADE_AGAIN=1
    say "initdb cluster $x (PostgreSQL $(cl "$x" MAJOR))"
    rm -rf "$dir"; mkdir -p "$data" "$sock"
    chown -R postgres:postgres "$dir"; chmod 700 "$data"; chmod 755 "$sock"
    as_pg "$(server_bin "$x")/initdb" -D "$data" -U postgres -E UTF8 --no-locale --no-sync \
      --auth-local=trust --auth-host=scram-sha-256 > "$STACK/initdb-$x.log" 2>&1 \
      || { cat "$STACK/initdb-$x.log" >&2; die "initdb $x failed"; }
    echo "include_if_exists = 'fdw-stack.conf'" >> "$data/postgresql.conf"
    if [[ $x == c ]]; then rm -f "$SCALE_CF"; else rm -f "$STACK/scale"; fi
  fi
  if [[ "$PGROOT" != "$STACK" ]]; then
    ln -sfn "$dir" "$STACK/$(basename "$dir")"; ln -sfn "$log" "$STACK/$(basename "$log")"
  fi
  [[ -e "$log" ]] || touch "$log"
  chown postgres:postgres "$log"
  mkdir -p "$sock"; chown postgres:postgres "$sock"
  # Server certificate inside the data dir (postgres must be able to read it wherever the repo is).
  install -o postgres -g postgres -m 600 "$STACK/tls/server.key" "$data/server.key"
  install -o postgres -g postgres -m 644 "$STACK/tls/server.crt" "$data/server.crt"
  # As on RDS (/rdsdbdata/rds-metadata/ca-cert.pem): the CA file the server names in
  # ssl_ca_file, which fdw-bootstrap finds when ServerOptions.SslRootCert is omitted.
  install -o postgres -g postgres -m 644 "$STACK/tls/ca.pem" "$data/ca.pem"
  cat > "$data/pg_hba.conf" <<HBA
# fdw-bridge local stack: superuser via unix socket only; TCP requires TLS + SCRAM.
# TYPE   DATABASE USER ADDRESS        METHOD
local    all      all                 trust
local    replication all              trust
hostssl  all      all  127.0.0.1/32   scram-sha-256
hostssl  all      all  ::1/128        scram-sha-256
# no plain "host" lines: non-TLS connections are refused
HBA
  cat > "$data/fdw-stack.conf" <<CONF
# written by stack/stack.sh on every start
port = $(cl "$x" PORT)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = '$data/ca.pem'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
max_connections = 200
shared_buffers = 128MB
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_statement = 'all'
log_connections = on
log_disconnections = off
log_line_prefix = '%m [%p] %q%u@%d '
# test speed, not durability
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 2GB
checkpoint_timeout = 30min
maintenance_work_mem = 256MB
CONF
  # The bench counts what crosses the link in pg_stat_statements (FDW_STACK_PRELOAD=pg_stat_statements);
  # a preload library takes effect at the next start of the cluster.
  if [[ -n "${FDW_STACK_PRELOAD:-}" ]]; then
    [[ "$FDW_STACK_PRELOAD" =~ ^[a-z_,]+$ ]] || die "FDW_STACK_PRELOAD: library names only"
    printf "shared_preload_libraries = '%s'\npg_stat_statements.track = all\n" "$FDW_STACK_PRELOAD" >> "$data/fdw-stack.conf"
  fi
  # B with a replica sends WAL (wal_level takes effect at B's next start: ensure_b_sends_wal); the
  # replica streams from B's socket through B's slot, wherever B's port is now.
  if [[ $x == r ]] || { [[ $x == b ]] && has_r; }; then
    printf "wal_level = replica\nmax_wal_senders = 4\n" >> "$data/fdw-stack.conf"
  fi
  if [[ $x == r ]]; then
    printf "hot_standby = on\nprimary_conninfo = 'host=%s port=%s user=postgres application_name=b-replica'\nprimary_slot_name = '%s'\n" \
      "$PG_B_SOCKET_DIR" "$PG_B_PORT" "$R_SLOT" >> "$data/fdw-stack.conf"
  fi
  chown postgres:postgres "$data/pg_hba.conf" "$data/fdw-stack.conf"
}

# B's replica, made like pg_basebackup -R would (the registry builds of 16 and 17 ship no
# pg_basebackup, and Debian's 15 refuses newer servers): a slot on B that keeps the WAL from now,
# pg_backup_start, a copy of B's data directory, pg_backup_stop's backup_label, standby.signal.
base_backup_of_b() {
  local dir="$PG_R_DIR" data="$PG_R_DATA"
  say "base backup of cluster b for its replica"
  rm -rf "$dir"; mkdir -p "$data" "$PG_R_SOCKET_DIR"; chmod 700 "$data"
  psql_su b postgres -At -c "SELECT pg_drop_replication_slot('$R_SLOT') FROM pg_replication_slots WHERE slot_name = '$R_SLOT'" >/dev/null
  psql_su b postgres -At -c "SELECT pg_create_physical_replication_slot('$R_SLOT', true)" >/dev/null
  # One session from start to stop (a non-exclusive backup); \! copies while it is open.
  psql_su b postgres -At <<SQL >/dev/null
SELECT pg_backup_start('fdw-stack b-replica', true);
\! tar -C "$PG_B_DATA" -cf - --exclude=./postmaster.pid --exclude=./postmaster.opts --exclude='./pg_wal/*' --exclude='./pg_replslot/*' --exclude='./pg_stat_tmp/*' . | tar -C "$data" -xf -
\o $data/backup_label
SELECT labelfile FROM pg_backup_stop(false);
SQL
  touch "$data/standby.signal"
  chown -R postgres:postgres "$dir"; chmod 700 "$data"
}

# B started with wal_level minimal before it had a replica: restart it once so that it sends WAL.
ensure_b_sends_wal() {
  [[ "$(psql_su b postgres -Atc 'SHOW wal_level')" == replica ]] && return
  say "cluster b restarts with wal_level = replica (it has a replica now)"
  stop_cluster b; start_cluster b
}

start_cluster() {
  local x="$1"
  if pg_running "$x"; then return; fi
  local pv="PG_${x^^}_PORT"
  if ! port_free "${!pv}"; then
    printf -v "$pv" '%s' "$(new_port "$PG_A_PORT" "$PG_B_PORT" "${PG_C_PORT:-}" "${PG_R_PORT:-}" "$MOTO_PORT" "$LISTENER_PORT")"
    say "port taken; cluster $(name_of "$x") moves to ${!pv}"
    save_state
  fi
  init_cluster "$x"
  # 9>&-: the server must not inherit the stack lock
  as_pg "$(server_bin "$x")/pg_ctl" -D "$(cl "$x" DATA)" -l "$(cl "$x" LOG)" -w -t 60 -s start 9>&- \
    || { tail -20 "$(cl "$x" LOG)" >&2; die "cluster $(name_of "$x") did not start"; }
  say "cluster $(name_of "$x") up on 127.0.0.1:$(cl "$x" PORT) (PostgreSQL $(cl "$x" MAJOR))"
}

stop_cluster() {
  local x="$1"
  if [[ -f "$(cl "$x" DATA)/PG_VERSION" ]] && pg_running "$x"; then
    as_pg "$(server_bin "$x")/pg_ctl" -D "$(cl "$x" DATA)" -m fast -w -t 60 -s stop
    say "cluster $(name_of "$x") stopped"
  fi
}

psql_su() {  # psql_su a|b DB [args...]: superuser over the unix socket (root may use -U postgres: local trust)
  local x="$1" db="$2"; shift 2
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(cl "$x" SOCKET_DIR)" -p "$(cl "$x" PORT)" -U postgres -d "$db" "$@"
}

bootstrap_roles() {
  psql_su a postgres -v users_admin_password="$USERS_ADMIN_PASSWORD" \
    -v report_reader_password="$REPORT_READER_PASSWORD" -f "$SQL/cluster-a.sql"
  psql_su b postgres -v orders_admin_password="$ORDERS_ADMIN_PASSWORD" -f "$SQL/cluster-b.sql"
  if has_c; then psql_su c postgres -v payments_admin_password="$PAYMENTS_ADMIN_PASSWORD" -f "$SQL/cluster-c.sql"; fi
}

# Cluster C's data: payments of A's users (5 per user), loaded when missing or at another scale.
load_data_c() {
  local n="$1" p=$(( $1 * 5 ))
  [[ "$(cat "$SCALE_CF" 2>/dev/null)" == "$n $p" ]] && return
  say "loading data on C: $p payments of $n users"
  rm -f "$SCALE_CF"
  psql_su c payments -v users="$n" -v payments="$p" -f "$SQL/payments-data.sql"
  echo "$n $p" > "$SCALE_CF"
}

load_data() {
  local n="$1" m="$2" pids=() rc=0
  say "loading data: $n users, $m orders (A: users + colocated, B: orders)"
  rm -f "$SCALEF"
  psql_su a users -v users="$n" -f "$SQL/users-data.sql" & pids+=($!)
  { psql_su a colocated -v users="$n" -f "$SQL/users-data.sql" &&
    psql_su a colocated -v users="$n" -v orders="$m" -v owner=users_admin -f "$SQL/orders-data.sql"; } & pids+=($!)
  { psql_su b orders -v users="$n" -v orders="$m" -v owner=orders_admin -f "$SQL/orders-data.sql" &&
    psql_su b orders -f "$SQL/orders-internal.sql"; } & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  (( rc == 0 )) || die "data load failed"
  echo "$n $m" > "$SCALEF"
}

# ------------------------------------------------------------------ moto, listener
# Alive = exists and is not a zombie (an orphan may wait a while for its reaper).
proc_alive() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }
pid_alive() { [[ -f "$1" ]] && proc_alive "$(cat "$1")"; }
http_up() { curl -s -o /dev/null --max-time 2 "$1"; }   # any HTTP answer counts
moto_up() { pid_alive "$STACK/moto.pid" && http_up "http://127.0.0.1:$MOTO_PORT/moto-api/"; }
listener_up() { pid_alive "$STACK/listener.pid" && curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$LISTENER_PORT/healthz"; }

wait_for() {  # wait_for SECONDS CMD...
  local t="$1"; shift; local i
  for ((i = 0; i < t * 10; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}

not_alive() { ! proc_alive "$1"; }
kill_pidfile() {
  local f="$1" name="$2" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if proc_alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    wait_for 10 not_alive "$pid" || kill -9 "$pid" 2>/dev/null || true
    say "$name stopped"
  fi
  rm -f "$f"
}

# Launch moto without waiting (it takes a few seconds to import); moto_wait waits.
moto_launch() {
  if moto_up; then return 1; fi
  kill_pidfile "$STACK/moto.pid" moto
  [[ -x "$VENV/bin/moto_server" ]] || die "moto_server missing in $VENV (run: make tools)"
  if ! port_free "$MOTO_PORT"; then MOTO_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT" "$LISTENER_PORT")"; save_state; fi
  echo "--- start $(date -u +%FT%TZ) port $MOTO_PORT" >> "$STACK/moto.log"
  setsid nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >> "$STACK/moto.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$STACK/moto.pid"
  return 0
}
moto_wait() {
  wait_for 60 moto_up || { tail -20 "$STACK/moto.log" >&2; die "moto did not come up"; }
  say "moto up on 127.0.0.1:$MOTO_PORT"
}

start_listener() {
  if listener_up; then return; fi
  kill_pidfile "$STACK/listener.pid" listener
  mkdir -p "$STACK/responses"
  rm -f "$STACK/listener.port"
  setsid nohup "$PYTHON_BIN" "$REPO/stack/response_listener.py" --dir "$STACK/responses" \
    --port "$LISTENER_PORT" --port-file "$STACK/listener.port" >> "$STACK/listener.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$STACK/listener.pid"
  wait_for 20 test -s "$STACK/listener.port" || { tail "$STACK/listener.log" >&2; die "listener did not start"; }
  local p; p="$(cat "$STACK/listener.port")"
  if [[ "$p" != "$LISTENER_PORT" ]]; then LISTENER_PORT="$p"; save_state; fi
  wait_for 20 listener_up || die "listener not answering"
  say "response listener up on 127.0.0.1:$LISTENER_PORT"
}

aws_env() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
}

seed_aws() {
  say "seeding moto (secrets, RDS clusters)"
  aws_env
  PG_A_PORT="$PG_A_PORT" PG_B_PORT="$PG_B_PORT" USERS_ADMIN_USER=users_admin ORDERS_ADMIN_USER=orders_admin \
  USERS_ADMIN_PASSWORD="$USERS_ADMIN_PASSWORD" ORDERS_ADMIN_PASSWORD="$ORDERS_ADMIN_PASSWORD" \
  REPORT_READER_PASSWORD="$REPORT_READER_PASSWORD" FDW_ROLE_USER=fdw_orders FDW_ROLE_PASSWORD="$FDW_ROLE_PASSWORD" \
  USERS_CLUSTER_ID=users-cluster ORDERS_CLUSTER_ID=orders-cluster \
  PG_C_PORT="${PG_C_PORT:-}" PAYMENTS_ADMIN_USER=payments_admin PAYMENTS_ADMIN_PASSWORD="${PAYMENTS_ADMIN_PASSWORD:-}" \
  PAYMENTS_CLUSTER_ID=payments-cluster \
    "$VENV/bin/python" "$REPO/stack/seed_aws.py" "$STACK/aws.env" > "$STACK/seed.log" 2>&1 \
    || { cat "$STACK/seed.log" >&2; die "seeding moto failed"; }
}

write_env() {
  local n m; read -r n m < "$SCALEF"
  local tmp="$ENVF.tmp"
  rm -f "$tmp"; (umask 077; : > "$tmp")
  ( umask 077
    kv() { [[ "$2" != *"'"* ]] || die "value of $1 contains a quote"; printf "export %s='%s'\n" "$1" "$2"; }
    kv STACK_DIR "$STACK"
    kv PG_BIN "$PG_BIN"
    kv PG_A_MAJOR "$PG_A_MAJOR"; kv PG_B_MAJOR "$PG_B_MAJOR"
    kv PG_A_SERVER_BIN "$(server_bin a)"; kv PG_B_SERVER_BIN "$(server_bin b)"
    kv PG_A_HOST 127.0.0.1; kv PG_A_PORT "$PG_A_PORT"; kv PG_A_SOCKET_DIR "$PG_A_SOCKET_DIR"
    kv PG_A_LOG "$PG_A_LOG"; kv PG_A_DATA "$PG_A_DATA"; kv PG_A_DB users; kv COLOCATED_DB colocated
    kv PG_B_HOST 127.0.0.1; kv PG_B_PORT "$PG_B_PORT"; kv PG_B_SOCKET_DIR "$PG_B_SOCKET_DIR"
    kv PG_B_LOG "$PG_B_LOG"; kv PG_B_DATA "$PG_B_DATA"; kv PG_B_DB orders
    kv USERS_ADMIN_USER users_admin; kv USERS_ADMIN_PASSWORD "$USERS_ADMIN_PASSWORD"
    kv ORDERS_ADMIN_USER orders_admin; kv ORDERS_ADMIN_PASSWORD "$ORDERS_ADMIN_PASSWORD"
    kv REPORT_READER_USER report_reader; kv REPORT_READER_PASSWORD "$REPORT_READER_PASSWORD"
    kv FDW_ROLE_USER fdw_orders; kv FDW_ROLE_PASSWORD "$FDW_ROLE_PASSWORD"
    kv FDW_CA_BUNDLE "$STACK/tls/ca.pem"; kv FDW_ROGUE_CA_BUNDLE "$STACK/tls/rogue-ca.pem"
    kv AWS_ENDPOINT_URL "http://127.0.0.1:$MOTO_PORT"
    kv AWS_REGION us-east-1; kv AWS_DEFAULT_REGION us-east-1
    kv AWS_ACCESS_KEY_ID testing; kv AWS_SECRET_ACCESS_KEY testing
    cat "$STACK/aws.env"
    kv USERS_CLUSTER_ID users-cluster; kv ORDERS_CLUSTER_ID orders-cluster
    kv RESPONSE_URL_BASE "http://127.0.0.1:$LISTENER_PORT"; kv RESPONSES_DIR "$STACK/responses"
    kv STACK_USERS "$n"; kv STACK_ORDERS "$m"
    if has_c; then
      kv PG_C_MAJOR "$PG_C_MAJOR"; kv PG_C_SERVER_BIN "$(server_bin c)"
      kv PG_C_HOST 127.0.0.1; kv PG_C_PORT "$PG_C_PORT"; kv PG_C_SOCKET_DIR "$PG_C_SOCKET_DIR"
      kv PG_C_LOG "$PG_C_LOG"; kv PG_C_DATA "$PG_C_DATA"; kv PG_C_DB payments
      kv PAYMENTS_ADMIN_USER payments_admin; kv PAYMENTS_ADMIN_PASSWORD "$PAYMENTS_ADMIN_PASSWORD"
      kv PAYMENTS_CLUSTER_ID payments-cluster
    fi
    if has_r; then
      # B's reader endpoint, as a link with RemoteCluster.ReadFrom: Readers names it.
      kv PG_B_READER_HOST 127.0.0.1; kv PG_B_READER_PORT "$PG_R_PORT"; kv PG_B_REPLICA_SOCKET_DIR "$PG_R_SOCKET_DIR"
      kv PG_B_REPLICA_LOG "$PG_R_LOG"; kv PG_B_REPLICA_DATA "$PG_R_DATA"
      kv PG_R_PORT "$PG_R_PORT"; kv PG_R_SOCKET_DIR "$PG_R_SOCKET_DIR"   # the harness's superuser('r', ...)
    fi
  ) >> "$tmp"
  mv -f "$tmp" "$ENVF"
}

# ------------------------------------------------------------------------ commands
cmd_status() {
  if ! load_state; then echo "stack: not created ($STACK)"; return 1; fi
  derive
  local rc=0 x
  local clusters=(a b); has_c && clusters+=(c)
  for x in "${clusters[@]}"; do
    if pg_ready "$x"; then echo "pg-$x     up    127.0.0.1:$(cl "$x" PORT)  PostgreSQL $(cl "$x" MAJOR)  data=$(cl "$x" DATA)"
    else echo "pg-$x     DOWN  127.0.0.1:$(cl "$x" PORT)"; rc=1; fi
  done
  if has_r; then
    if pg_ready r && r_streaming; then echo "pg-b-replica up 127.0.0.1:$PG_R_PORT  streaming from b  data=$PG_R_DATA"
    else echo "pg-b-replica DOWN or not streaming  127.0.0.1:$PG_R_PORT"; rc=1; fi
  fi
  if moto_up; then echo "moto     up    http://127.0.0.1:$MOTO_PORT"; else echo "moto     DOWN  http://127.0.0.1:$MOTO_PORT"; rc=1; fi
  if listener_up; then echo "listener up    http://127.0.0.1:$LISTENER_PORT  responses=$STACK/responses"
  else echo "listener DOWN  http://127.0.0.1:$LISTENER_PORT"; rc=1; fi
  if [[ -f "$SCALEF" ]]; then echo "data     $(awk '{print $1" users, "$2" orders"}' "$SCALEF")"; else echo "data     NOT LOADED"; rc=1; fi
  if [[ -f "$ENVF" ]]; then echo "env      $ENVF"; else echo "env      MISSING"; rc=1; fi
  return $rc
}

# The replica streams from B (B's walsender for it is up).
r_streaming() {
  [[ "$(psql_su b postgres -Atc "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'b-replica' AND state = 'streaming'" 2>/dev/null)" == 1 ]]
}

all_up() {
  pg_ready a && pg_ready b && moto_up && listener_up && [[ -f "$ENVF" && -f "$STACK/aws.env" ]] \
    && { ! has_c || { pg_ready c && [[ -f "$SCALE_CF" ]]; }; } \
    && { ! has_r || { pg_ready r && r_streaming && grep -q PG_B_READER_PORT "$ENVF"; }; }
}

cmd_up() {
  local n=$DEFAULT_USERS m=$DEFAULT_ORDERS
  while (($#)); do
    case "$1" in
      --users) n="$2"; shift 2 ;;
      --users=*) n="${1#*=}"; shift ;;
      --orders) m="$2"; shift 2 ;;
      --orders=*) m="${1#*=}"; shift ;;
      --with-c) WANT_C=1; shift ;;
      --with-b-replica) WANT_R=1; shift ;;
      *) die "unknown option for up: $1" ;;
    esac
  done
  [[ "$n" =~ ^[1-9][0-9]*$ && "$m" =~ ^[1-9][0-9]*$ ]] || die "--users/--orders must be positive integers"
  [[ $(id -u) -eq 0 ]] || die "run as root (initdb/pg_ctl are run as the postgres user via runuser)"
  [[ -x "$PG_BIN/psql" && -x "$PG_BIN/pg_isready" ]] || die "psql / pg_isready not found in $PG_BIN (run: make tools)"
  [[ -x "$VENV/bin/python" ]] || die "venv missing at $VENV (run: make tools)"

  mkdir -p "$STACK"
  exec 9> "$STACK/.lock"; flock 9

  if load_state && [[ -n "${PGROOT:-}" ]]; then
    derive
    if ((WANT_C)) && ! has_c; then
      PG_C_MAJOR="$WANT_MAJOR_C"; PG_C_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT" "$MOTO_PORT" "$LISTENER_PORT")"
      PAYMENTS_ADMIN_PASSWORD="$(openssl rand -hex 16)"; save_state
    fi
    if ((WANT_R)) && ! has_r; then
      PG_R_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT" "${PG_C_PORT:-}" "$MOTO_PORT" "$LISTENER_PORT")"; save_state; derive
    fi
    if [[ "$(cat "$SCALEF" 2>/dev/null)" == "$n $m" && "${PG_A_MAJOR:-}" == "$WANT_MAJOR_A" \
          && "${PG_B_MAJOR:-}" == "$WANT_MAJOR_B" ]] && { ! has_c || [[ "$PG_C_MAJOR" == "$WANT_MAJOR_C" ]]; } \
          && all_up; then
      say "already up ($n users, $m orders)"; cmd_status; return
    fi
    # Another major asked for: that cluster stops here and is made again by init_cluster.
    local x want clusters=(a b); has_c && clusters+=(c)
    for x in "${clusters[@]}"; do
      want="WANT_MAJOR_${x^^}"
      if [[ "$(cl "$x" MAJOR)" != "${!want}" ]]; then
        if [[ $x == b ]] && has_r; then stop_cluster r || true; fi
        stop_cluster "$x" || true
        printf -v "PG_${x^^}_MAJOR" '%s' "${!want}"
      fi
    done
    save_state; derive
  else
    choose_pgroot
    PG_A_MAJOR="$WANT_MAJOR_A"; PG_B_MAJOR="$WANT_MAJOR_B"
    PG_A_PORT="$(new_port)"; PG_B_PORT="$(new_port "$PG_A_PORT")"
    MOTO_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT")"; LISTENER_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT" "$MOTO_PORT")"
    if ((WANT_C)); then
      PG_C_MAJOR="$WANT_MAJOR_C"; PG_C_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT" "$MOTO_PORT" "$LISTENER_PORT")"
      PAYMENTS_ADMIN_PASSWORD="$(openssl rand -hex 16)"
    fi
    if ((WANT_R)); then PG_R_PORT="$(new_port "$PG_A_PORT" "$PG_B_PORT" "${PG_C_PORT:-}" "$MOTO_PORT" "$LISTENER_PORT")"; fi
    USERS_ADMIN_PASSWORD="$(openssl rand -hex 16)"; ORDERS_ADMIN_PASSWORD="$(openssl rand -hex 16)"
    REPORT_READER_PASSWORD="$(openssl rand -hex 16)"; FDW_ROLE_PASSWORD="$(openssl rand -hex 16)"
    save_state; derive
  fi

  make_tls
  # moto imports slowly: launch it first, wait for it after postgres is up.
  moto_launch || true
  start_listener
  start_cluster a
  start_cluster b
  if has_c; then start_cluster c; fi
  if has_r; then
    ensure_b_sends_wal
    start_cluster r
    wait_for 30 r_streaming || { tail -20 "$PG_R_LOG" >&2; die "B's replica does not stream from B"; }
  fi
  moto_wait
  bootstrap_roles
  if [[ "$(cat "$SCALEF" 2>/dev/null)" != "$n $m" ]]; then load_data "$n" "$m"; fi
  if has_c; then load_data_c "$n"; fi
  seed_aws
  write_env
  say "up. env file: $ENVF"
  cmd_status
}

cmd_down() {
  local purge=0
  [[ "${1:-}" == "--purge" ]] && purge=1
  if load_state && [[ -n "${PGROOT:-}" ]]; then
    derive
    stop_cluster a || true
    if has_r; then stop_cluster r || true; fi
    stop_cluster b || true
    if has_c; then stop_cluster c || true; fi
  fi
  kill_pidfile "$STACK/moto.pid" moto
  kill_pidfile "$STACK/listener.pid" listener
  if ((purge)); then
    if [[ -n "${PGROOT:-}" && "$PGROOT" != "$STACK" && "$PGROOT" == /tmp/fdw-bridge-* ]]; then rm -rf "$PGROOT"; fi
    rm -rf "$STACK"
    say "purged $STACK"
  fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  status) cmd_status ;;
  down) shift; cmd_down "$@" ;;
  pg-stop|pg-start) [[ "${2:-}" =~ ^(a|b|c|b-replica)$ ]] || die "usage: $1 a|b|c|b-replica"; need_state
    [[ "$2" != c ]] || has_c || die "this stack has no cluster c (stack.sh up --with-c)"
    [[ "$2" != b-replica ]] || has_r || die "this stack has no replica of b (stack.sh up --with-b-replica)"
    x="$2"; [[ $x == b-replica ]] && x=r
    if [[ $1 == pg-stop ]]; then stop_cluster "$x"; else start_cluster "$x"; fi ;;
  env) [[ -f "$ENVF" ]] || die "no env file (run: stack/stack.sh up)"; echo "$ENVF" ;;
  psql)
    [[ "${2:-}" =~ ^[abc]$ ]] || die "usage: psql a|b|c [psql args...]"
    need_state; x="$2"; shift 2
    [[ "$x" != c ]] || has_c || die "this stack has no cluster c (stack.sh up --with-c)"
    db=users; [[ $x == b ]] && db=orders; [[ $x == c ]] && db=payments
    exec "$PG_BIN/psql" -X -h "$(cl "$x" SOCKET_DIR)" -p "$(cl "$x" PORT)" -U postgres -d "$db" "$@" ;;
  ""|-h|--help|help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command: $1 (try: up, status, down, pg-stop, pg-start, env, psql)" ;;
esac
