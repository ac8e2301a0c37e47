#!/usr/bin/env python3
"""Copies the targets table of benchmarks/results/latest.md into the top-level
README, between its `<!-- benchmarks:begin -->` and `<!-- benchmarks:end -->` markers,
so the README always quotes the latest full run. benchmarks/run calls it after a full
run of every section (not after --quick or a single section)."""
import os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
latest = open(os.path.join(here, "results", "latest.md")).read()
readme_path = os.path.join(here, "..", "README.md")
readme = open(readme_path).read()

header = latest.split("## Targets", 1)[0].strip().splitlines()
run_line = next((l for l in header if "mode" in l and "`" in l), "")
machine_line = next((l for l in header if l.startswith("Machine:")), "").rstrip()
table = re.search(r"## Targets[^\n]*\n\n(\|.*?\n)(?:\n|$)", latest, re.S)
if not table:
    sys.exit("quote-in-readme: no targets table in results/latest.md")
block = "\n".join([
    "<!-- benchmarks:begin (written by benchmarks/quote-in-readme.py from benchmarks/results/latest.md) -->",
    f"Latest full run: {run_line}. {machine_line}",
    "",
    table.group(1).rstrip(),
    "<!-- benchmarks:end -->",
])
pattern = re.compile(r"<!-- benchmarks:begin.*?<!-- benchmarks:end -->", re.S)
if not pattern.search(readme):
    sys.exit("quote-in-readme: README.md has no benchmarks markers")
open(readme_path, "w").write(pattern.sub(lambda _: block, readme))
print("quote-in-readme: README.md quotes", run_line)
