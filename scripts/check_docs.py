#!/usr/bin/env python3
"""Keeps the README a guide and the documentation's links whole, offline.

- README.md has fewer than 500 lines (details live in docs/, linked from it);
- every relative link and image in README.md, ARCHITECTURE.md, stack/README.md
  and docs/**/*.md points at a file or folder that exists, and a `#fragment`
  into a Markdown file names one of its headings, as GitHub makes anchors.

`--self-test` first requires each rule to fail on a broken copy (a README of
500 lines, a link to a missing file, a link to a missing heading) and to pass
on a good one. Run by `make lint` (part of `make test`).
Usage: scripts/check_docs.py [--self-test] [repo root]
"""
import os
import re
import sys
import tempfile
import unicodedata

README_MAX_LINES = 500  # the README must stay below this
FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); the target ends at whitespace or ')'.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


def doc_files(root):
    files = [p for p in ("README.md", "ARCHITECTURE.md", os.path.join("stack", "README.md"))
             if os.path.isfile(os.path.join(root, p))]
    for dirpath, _, names in os.walk(os.path.join(root, "docs")):
        for name in sorted(names):
            if name.endswith(".md"):
                files.append(os.path.relpath(os.path.join(dirpath, name), root))
    return files


def prose_lines(text):
    """(line number, line) outside fenced code blocks, inline code removed."""
    in_fence = None
    for no, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m:
            if in_fence is None:
                in_fence = m.group(1)
            elif line.strip().startswith(in_fence):
                in_fence = None
            continue
        if in_fence is None:
            yield no, INLINE_CODE.sub("", line)


def slug(heading):
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").lower()
    out = []
    for ch in text:
        if ch in " -_" or unicodedata.category(ch)[0] in "LN":
            out.append("-" if ch == " " else ch)
    return "".join(out)


def anchors(path, cache={}):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        seen, found = {}, set()
        in_fence = None
        for line in text.splitlines():
            m = FENCE.match(line)
            if m:
                if in_fence is None:
                    in_fence = m.group(1)
                elif line.strip().startswith(in_fence):
                    in_fence = None
                continue
            h = HEADING.match(line) if in_fence is None else None
            if h:
                base = slug(h.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
        found.update(re.findall(r'<a\s+(?:name|id)="([^"]+)"', text))
        cache[path] = found
    return cache[path]


def check(root):
    problems = []
    readme = os.path.join(root, "README.md")
    with open(readme, encoding="utf-8") as f:
        count = len(f.read().splitlines())
    if count >= README_MAX_LINES:
        problems.append(f"README.md: {count} lines, the limit is under {README_MAX_LINES}: "
                        "move details into docs/ and link them")
    for rel in doc_files(root):
        path = os.path.join(root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for no, line in prose_lines(text):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
                    continue
                file_part, _, fragment = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                where = f"{rel}:{no}: ({target})"
                if not os.path.exists(dest):
                    problems.append(f"{where} {os.path.relpath(dest, root)} does not exist")
                elif fragment and dest.endswith(".md") and fragment not in anchors(dest):
                    problems.append(f"{where} no heading #{fragment} in {os.path.relpath(dest, root)}")
    return problems


def self_test():
    """Each rule must fail on a broken copy and pass on a good one."""
    def tree(readme, doc):
        d = tempfile.mkdtemp(prefix="check-docs-")
        os.makedirs(os.path.join(d, "docs"))
        with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as f:
            f.write(readme)
        with open(os.path.join(d, "docs", "page.md"), "w", encoding="utf-8") as f:
            f.write(doc)
        return d

    good_doc = "# Page\n\n## Sizing cluster B's connections\n\n```bash\n# not a heading\n```\n[back](../README.md#a-guide)\n"
    good = "# A guide\n\n[sizing](docs/page.md#sizing-cluster-bs-connections) `[not](a-link.md)`\n"
    cases = [
        ("a good tree", tree(good, good_doc), 0),
        ("a README of 500 lines", tree(good + "line\n" * (500 - 3), good_doc), 1),
        ("a link to a missing file", tree(good + "[x](docs/gone.md)\n", good_doc), 1),
        ("a link to a missing heading", tree(good + "[x](docs/page.md#not-a-heading)\n", good_doc), 1),
        ("a heading only inside a code block", tree(good + "[x](docs/page.md#not-a-heading-1)\n",
                                                   good_doc + "```\n## Not a heading\n```\n"), 1),
        ("a broken link in docs/", tree(good, good_doc + "![chart](bench/missing.png)\n"), 1),
    ]
    failed = []
    for name, root, want in cases:
        got = len(check(root))
        if (got > 0) != (want > 0):
            failed.append(f"self-test: {name}: {got} problem(s), expected {'some' if want else 'none'}")
    return failed


def main(argv):
    args = [a for a in argv if a != "--self-test"]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    problems = self_test() if "--self-test" in argv else []
    problems += check(root)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"docs: README.md under {README_MAX_LINES} lines; every relative link and anchor resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
