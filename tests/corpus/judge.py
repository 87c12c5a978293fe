#!/usr/bin/env python3
"""Judge every error and warning result of a corpus scan against the labelled patterns.

    python3 tests/corpus/judge.py SCAN_DIR [--patterns tests/corpus/judgments.tsv]
                                  [--out tests/corpus/judged.tsv] [--summary]

SCAN_DIR holds one SARIF log per image, named <manifest id>.sarif (baseline.py --keep-sarif, or
`pelint scan IMAGE -o SCAN_DIR/<id>.sarif`). Each result of level error or warning is matched
against judgments.tsv, first matching pattern wins; a pattern says whether results of its shape
are real defects or false positives, and why (the reason was established on examples with
objdump, llvm-readobj-22 and the Wine unwinder; see README.md, "Precision"). A result that no
pattern matches is "unjudged": precision is never claimed for it.

Writes one row per result (image, machine, toolchain, rule, level, where, first instruction,
pattern, verdict) and prints, per rule: results, defects, false positives, unjudged and precision
(defects / judged), then the same per machine (the manifest's machine column; a pattern's
`machine` column, a regular expression matched whole like `toolchain`, limits it to some). Exits 1 when any result is unjudged, so a rule change that produces a new
shape of result cannot go unlabelled.
"""
import argparse
import csv
import glob
import json
import os
import re
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = ("error", "warning")


def load_manifest(path):
    with open(path, newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f, delimiter="\t")}


def load_patterns(path):
    patterns = []
    with open(path, newline="") as f:
        lines = [line for line in f if line.strip() and not line.startswith("#")]
    for row in csv.DictReader(lines, delimiter="\t"):
        for key in ("machine", "toolchain", "image", "instruction", "message", "related"):
            row[key + "_re"] = re.compile(row[key] or ".*", re.S)
        if row["verdict"] not in ("defect", "false-positive"):
            sys.exit(f"judgments: pattern {row['id']}: verdict must be defect or false-positive, not {row['verdict']!r}")
        patterns.append(row)
    return patterns


FIRST_INSTRUCTION = re.compile(r"0x[0-9A-F]+ \(([^()]*(?:\([^()]*\))?[^()]*)\)")


def instruction_of(text):
    m = FIRST_INSTRUCTION.search(text)
    return m.group(1) if m else ""


def results(scan_dir, manifest):
    for path in sorted(glob.glob(os.path.join(scan_dir, "*.sarif"))):
        image = os.path.basename(path)[: -len(".sarif")]
        row = manifest.get(image)
        toolchain = row["toolchain"] if row else "?"
        machine = row["machine"] if row else "?"
        with open(path) as f:
            log = json.load(f)
        for run in log.get("runs", []):
            for r in run.get("results", []):
                level = r.get("level", "warning")
                # The engine's "N more results were not reported" summary is a count, not a result.
                if level not in LEVELS or r["message"].get("id") == "capped":
                    continue
                text = r["message"]["text"]
                related = "\n".join(x.get("message", {}).get("text", "") for x in r.get("relatedLocations", []))
                loc = (r.get("locations") or [{}])[0]
                where = loc.get("logicalLocations", [{}])[0].get("fullyQualifiedName", "") if loc.get("logicalLocations") else ""
                region = loc.get("physicalLocation", {}).get("region", {})
                yield {
                    "image": image,
                    "machine": machine,
                    "toolchain": toolchain,
                    "rule": r["ruleId"],
                    "level": level,
                    "where": where or (hex(region["byteOffset"]) if "byteOffset" in region else ""),
                    "instruction": instruction_of(text),
                    "message": text,
                    "related": related,
                }


def judge(result, patterns):
    for p in patterns:
        if p["rule"] != result["rule"]:
            continue
        if (p["machine_re"].fullmatch(result["machine"]) and p["toolchain_re"].fullmatch(result["toolchain"]) and p["image_re"].search(result["image"])
                and p["instruction_re"].search(result["instruction"]) and p["message_re"].search(result["message"])
                and (not p["related"] or p["related_re"].search(result["related"]))):
            return p
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scan_dir")
    ap.add_argument("--manifest", default=os.path.join(HERE, "manifest.tsv"))
    ap.add_argument("--patterns", default=os.path.join(HERE, "judgments.tsv"))
    ap.add_argument("--out", default=os.path.join(HERE, "judged.tsv"))
    args = ap.parse_args()

    manifest = load_manifest(args.manifest)
    patterns = load_patterns(args.patterns)
    per_rule = defaultdict(Counter)
    per_machine = defaultdict(Counter)
    per_pattern = Counter()
    unjudged = []
    with open(args.out, "w", newline="") as out:
        w = csv.writer(out, delimiter="\t", lineterminator="\n")
        w.writerow(["image", "machine", "toolchain", "rule", "level", "where", "instruction", "pattern", "verdict"])
        for r in results(args.scan_dir, manifest):
            p = judge(r, patterns)
            verdict = p["verdict"] if p else "unjudged"
            per_rule[(r["rule"], r["level"])][verdict] += 1
            per_machine[(r["machine"], r["rule"], r["level"])][verdict] += 1
            if p:
                per_pattern[p["id"]] += 1
            else:
                unjudged.append(r)
            w.writerow([r["image"], r["machine"], r["toolchain"], r["rule"], r["level"], r["where"], r["instruction"], p["id"] if p else "", verdict])

    def row(c):
        judged = c["defect"] + c["false-positive"]
        precision = f"{100.0 * c['defect'] / judged:.1f}%" if judged else "-"
        return f"{sum(c.values())} | {c['defect']} | {c['false-positive']} | {c['unjudged']} | {precision} |"

    print("| rule | level | results | defects | false positives | unjudged | precision |")
    print("|---|---|---|---|---|---|---|")
    for (rule, level), c in sorted(per_rule.items()):
        print(f"| {rule} | {level} | {row(c)}")
    print()
    print("| machine | rule | level | results | defects | false positives | unjudged | precision |")
    print("|---|---|---|---|---|---|---|---|")
    for (machine, rule, level), c in sorted(per_machine.items()):
        print(f"| {machine} | {rule} | {level} | {row(c)}")
    print()
    for p in patterns:
        print(f"{p['id']}\t{per_pattern[p['id']]}\t{p['verdict']}")
    for r in unjudged[:40]:
        print(f"UNJUDGED {r['image']} {r['rule']} {r['level']}: {r['message'][:300]}", file=sys.stderr)
    return 1 if unjudged else 0


if __name__ == "__main__":
    sys.exit(main())
