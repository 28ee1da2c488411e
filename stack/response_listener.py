#!/usr/bin/env python3
"""Stand-in for a CloudFormation custom resource ResponseURL (stdlib only).

PUT /<name>              -> 200, body stored as <dir>/<name>.json (atomic rename)
PUT /fail-<K>/<name>     -> 500 for the first K PUTs to that exact path, then 200 and the
                            body is stored as <dir>/<name>.json
GET /healthz             -> 200 "ok" (not logged)
GET /<name>              -> 200 with the stored body, 404 if none

The query string (a real ResponseURL is a presigned S3 URL) is ignored for naming.
Characters outside [A-Za-z0-9._-] in <name> become '_' ('/' included).
Every request is logged to <dir>/requests.log: "<method> <path> <status> <body-length>".
"""
import argparse
import os
import re
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_RE = re.compile(r"^/fail-(\d+)/(.+)$")
SAFE_RE = re.compile(r"[^A-Za-z0-9._-]")


class State:
    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        self.fail_counts = {}
        self.log = open(os.path.join(directory, "requests.log"), "a", buffering=1)

    def log_line(self, method, path, status, length):
        with self.lock:
            self.log.write(f"{method} {path} {status} {length}\n")


def safe_name(raw):
    name = SAFE_RE.sub("_", raw.strip("/")) or "_root"
    if name in (".", ".."):
        name = "_" + name
    return name


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fdw-bridge-response-listener/1"

    def log_message(self, fmt, *args):  # quiet stderr; requests.log has the record
        pass

    def _reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _path(self):
        return urllib.parse.urlsplit(self.path).path

    def do_PUT(self):
        st = self.server.state
        path = self._path()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        m = FAIL_RE.match(path)
        if m:
            k, rest = int(m.group(1)), m.group(2)
            with st.lock:
                n = st.fail_counts.get(path, 0)
                st.fail_counts[path] = n + 1
            if n < k:
                st.log_line("PUT", self.path, 500, len(body))
                self._reply(500, b"injected failure\n")
                return
            name = safe_name(rest)
        else:
            name = safe_name(path)
        final = os.path.join(st.dir, name + ".json")
        tmp = os.path.join(st.dir, f".{name}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        st.log_line("PUT", self.path, 200, len(body))
        self._reply(200)

    def do_GET(self):
        st = self.server.state
        path = self._path()
        if path == "/healthz":  # not logged: status checks would clutter requests.log
            self._reply(200, b"ok\n")
            return
        f = os.path.join(st.dir, safe_name(path) + ".json")
        if os.path.exists(f):
            with open(f, "rb") as fh:
                data = fh.read()
            st.log_line("GET", self.path, 200, 0)
            self._reply(200, data, "application/json")
        else:
            st.log_line("GET", self.path, 404, 0)
            self._reply(404, b"not found\n")

    def do_POST(self):
        self.do_PUT()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port; a busy port falls back to 0")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    try:
        srv = ThreadingHTTPServer((a.host, a.port), Handler)
    except OSError:
        srv = ThreadingHTTPServer((a.host, 0), Handler)
    srv.state = State(a.dir)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.port_file)
    print(f"listening on http://{a.host}:{port}/ dir={a.dir}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
