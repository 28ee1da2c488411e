#!/usr/bin/env python3
"""Checks scripts/render-event.py: placeholders filled, every other character
kept as written (a `$$` or a lone `$` in a name stays exactly as it is), a
missing value is an error. Run by `make test` (target render-event-test)."""
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
render = os.path.join(here, "render-event.py")
failures = []


def run(text, env):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        f.write(text)
        path = f.name
    try:
        return subprocess.run([sys.executable, render, path], env=env, capture_output=True, text=True)
    finally:
        os.unlink(path)


def check(name, ok, detail):
    if not ok:
        failures.append(f"{name}: {detail}")


env = {"PATH": os.environ.get("PATH", ""), "PORT": "5432", "NAME": "a$$b"}
event = '{"ServerName": "link$$1", "Other": "$x and $ and $$", "Port": "${PORT}", "Name": "${NAME}"}'
out = run(event, env)
check("exit status", out.returncode == 0, out.stderr)
want = '{"ServerName": "link$$1", "Other": "$x and $ and $$", "Port": "5432", "Name": "a$$b"}'
check("dollars kept, placeholders filled", out.stdout == want, f"got {out.stdout!r}, want {want!r}")

missing = run('{"X": "${NOT_SET_ANYWHERE}"}', env)
check("missing placeholder fails", missing.returncode != 0, "exit status 0")
check("missing placeholder is named", "NOT_SET_ANYWHERE" in missing.stderr, missing.stderr)

if failures:
    sys.exit("render-event.py: " + "; ".join(failures))
print("render-event.py: placeholders filled, $ and $$ kept, missing values refused")
