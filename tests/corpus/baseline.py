#!/usr/bin/env python3
"""Scan every cached corpus image with pelint, one process per image, and tabulate the results.

  python3 tests/corpus/baseline.py [--pelint 'dotnet src/Analyzer.Cli/bin/Release/net10.0/pelint.dll']
                                   [--dir CACHE] [--out tests/corpus/baseline-main.tsv]
                                   [--readobj tests/corpus/readobj-unwind.tsv] [--timeout 120]

Per image: pelint's exit code, wall time, the number of results per rule id, and every tool
notification (PEL0002 malformed headers, PEL0003 rule failure, PEL0004 time budget, ...); a
process killed by the timeout is a hang, one that dies without a SARIF log is a crash.
With --readobj, also records for every arm64, arm64ec and x86 image whether
`llvm-readobj-22 --unwind` handles it (exit code, signal, first line of stderr).
"""
import argparse
import collections
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fetch  # noqa: E402  (manifest reader and cache layout)

REPO = os.path.dirname(os.path.dirname(HERE))
MORE = re.compile(r"([0-9][0-9,]*) more .* not reported")


def git(*args):
    return subprocess.run(["git", "-C", REPO] + list(args), stdout=subprocess.PIPE, text=True).stdout.strip()


def rule_ids(pelint):
    out = subprocess.run(pelint + ["rules"], stdout=subprocess.PIPE, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line[:2] == "PE" and line.split()[0][2:].isdigit()]


def scan(pelint, path, timeout, tmp):
    sarif = os.path.join(tmp, "out.sarif")
    if os.path.exists(sarif):
        os.remove(sarif)
    t0 = time.time()
    try:
        p = subprocess.run(pelint + ["scan", path, "-o", sarif, "--fail-level", "none"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        code, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as ex:
        return {"exit": "hang", "seconds": time.time() - t0, "counts": {}, "notes": ["hang: killed after %d s" % timeout],
                "capped": set()}
    res = {"exit": str(code), "seconds": time.time() - t0, "counts": collections.Counter(), "notes": [], "capped": set()}
    if not os.path.exists(sarif):
        tail = " | ".join(err.strip().splitlines()[-3:])
        res["notes"].append("crash: no SARIF log, exit %d: %s" % (code, tail[:300]))
        return res
    run = json.load(open(sarif))["runs"][0]
    for r in run.get("results", []):
        m = MORE.search((r.get("message") or {}).get("text", ""))
        if m:  # "N more broken epilogs were not reported (limit 100 per image)": count them, not the summary
            res["counts"][r["ruleId"]] += int(m.group(1).replace(",", ""))
            res["capped"].add(r["ruleId"])
        else:
            res["counts"][r["ruleId"]] += 1
    for inv in run.get("invocations", []):
        for key in ("toolExecutionNotifications", "toolConfigurationNotifications"):
            for n in inv.get(key, []):
                nid = (n.get("descriptor") or {}).get("id") or n.get("id") or "?"
                msg = (n.get("message") or {}).get("text", "").replace("\t", " ").replace("\n", " ")
                res["notes"].append("%s %s: %s" % (nid, n.get("level", ""), msg[:300]))
    if code not in (0, 1):
        res["notes"].append("exit %d" % code)
    return res


def readobj(path, timeout):
    try:
        p = subprocess.run(["llvm-readobj-22", "--unwind", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", 0, "killed after %d s" % timeout
    code = p.returncode
    status = str(code) if code >= 0 else "signal %d" % -code
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    warnings = sum(1 for line in err if "warning" in line)
    first = err[0][:200].replace("\t", " ") if err else ""
    if warnings > 1:
        first += " (+%d more warnings)" % (warnings - 1)
    functions = p.stdout.count(b"RuntimeFunction {")
    if b"unsupported Image Machine" in p.stdout:  # x86: nothing to dump, and exit 0
        first = ("unsupported Image Machine (no unwind dump) " + first).strip()
    return status, functions, first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pelint", default="dotnet " + os.path.join(REPO, "src/Analyzer.Cli/bin/Release/net10.0/pelint.dll"))
    ap.add_argument("--dir", default=os.environ.get("PELINT_CORPUS_DIR") or os.path.expanduser("~/.cache/pelint/corpus"))
    ap.add_argument("--manifest", default=os.path.join(HERE, "manifest.tsv"))
    ap.add_argument("--out", default=os.path.join(HERE, "baseline-main.tsv"))
    ap.add_argument("--readobj", help="also write the llvm-readobj-22 --unwind table for arm64/arm64ec/x86 images")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--machine", default="x64", help="machines to scan with pelint (comma-separated)")
    ap.add_argument("--skip-pelint", action="store_true", help="only the llvm-readobj table")
    args = ap.parse_args()
    pelint = shlex.split(args.pelint)
    rows = fetch.read_manifest(args.manifest)
    machines = set(args.machine.split(","))
    rules = rule_ids(pelint)
    version = subprocess.run(pelint + ["--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    head = git("rev-parse", "HEAD")
    src = git("log", "-1", "--format=%H %cs %s", "--", "src")
    missing = []
    tmp = tempfile.mkdtemp(prefix="pelint-baseline.")
    with open(os.devnull if args.skip_pelint else args.out, "w") as out:
        out.write("# pelint baseline on the corpus (tests/corpus/manifest.tsv), one process per image, timeout %d s\n" % args.timeout)
        out.write("# pelint %s; built from %s; last commit touching src/: %s\n" % (version, head, src))
        out.write("# scanned %s UTC; columns: findings per rule id (a rule's 'N more ... not reported' summary counts as N,"
                  " and the rule is listed in 'capped'); notes: tool notifications, crash or hang\n"
                  % datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"))
        out.write("\t".join(["id", "machine", "toolchain", "tuned", "exit", "seconds"] + rules + ["other", "capped", "notes"]) + "\n")
        for r in rows:
            if r["machine"] not in machines or args.skip_pelint:
                continue
            path = fetch.dest_of(args.dir, r)
            if not os.path.exists(path):
                missing.append(r["id"])
                continue
            res = scan(pelint, path, args.timeout, tmp)
            other = sum(v for k, v in res["counts"].items() if k not in rules)
            cells = [r["id"], r["machine"], r["toolchain"], "yes" if fetch.is_tuned(r) else "no", res["exit"],
                     "%.2f" % res["seconds"]] + [str(res["counts"].get(k, 0)) for k in rules] + [str(other),
                     ",".join(sorted(res["capped"])), " | ".join(res["notes"])]
            out.write("\t".join(cells) + "\n")
            out.flush()
            if res["notes"]:
                print("%s: %s" % (r["id"], " | ".join(res["notes"])[:400]), flush=True)
    if args.readobj:
        with open(args.readobj, "w") as out:
            out.write("# llvm-readobj-22 --unwind on the arm64, arm64ec and x86 images (%s), timeout %d s\n"
                      % (subprocess.run(["llvm-readobj-22", "--version"], stdout=subprocess.PIPE, text=True)
                         .stdout.strip().splitlines()[0].strip(), args.timeout))
            out.write("id\tmachine\ttoolchain\texit\truntime_functions_dumped\tnote\n")
            for r in rows:
                if r["machine"] not in ("arm64", "arm64ec", "x86"):
                    continue
                path = fetch.dest_of(args.dir, r)
                if not os.path.exists(path):
                    missing.append(r["id"])
                    continue
                status, lines, err = readobj(path, args.timeout)
                out.write("\t".join([r["id"], r["machine"], r["toolchain"], status, str(lines), err]) + "\n")
    if missing:
        print("not in the cache (run fetch.sh): %s" % ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
