#!/usr/bin/env python3
"""Fills the ${NAME} placeholders of an event in events/ from the environment
(the local stack's env file, or your own values) and prints the result.
Only ${NAME} is a placeholder: every other `$` (a `$$` or `$x` in a name) is
kept as written (string.Template would turn `$$` into `$`). A placeholder with
no value is an error, never left in silently."""
import os
import re
import sys

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

if len(sys.argv) != 2:
    sys.exit("usage: render-event.py events/<file>.json")
text = open(sys.argv[1], encoding="utf-8").read()
missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1) not in os.environ})
if missing:
    sys.exit(f"{sys.argv[1]}: no value for placeholder(s) {', '.join(missing)}: set them in the environment "
             "(for the local stack: source .stack/env)")
print(PLACEHOLDER.sub(lambda m: os.environ[m.group(1)], text), end="")
