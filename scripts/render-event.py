#!/usr/bin/env python3
"""Fills the ${NAME} placeholders of an event in events/ from the environment
(the local stack's env file, or your own values) and prints the result.
A placeholder with no value is an error, never left in silently."""
import os
import string
import sys

if len(sys.argv) != 2:
    sys.exit("usage: render-event.py events/<file>.json")
text = open(sys.argv[1], encoding="utf-8").read()
try:
    print(string.Template(text).substitute(os.environ), end="")
except KeyError as missing:
    sys.exit(f"{sys.argv[1]}: no value for placeholder {missing}: set it in the environment "
             "(for the local stack: source .stack/env)")
