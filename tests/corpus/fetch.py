#!/usr/bin/env python3
"""Fetch the images of tests/corpus/manifest.tsv into a cache outside git, verified by sha256.

Run it through fetch.sh (which checks the tools first); see README.md beside this file.
Layout of the cache: DIR/<machine>/<toolchain>/<id>. Images already present with the right sha256
are not fetched again. A package is fetched only when one of its images is missing or wrong.
"""
import argparse
import collections
import concurrent.futures
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["id", "machine", "toolchain", "source", "package", "version", "path", "sha256", "size", "notes"]


def read_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != COLUMNS:
            sys.exit("manifest %s: header must be %s" % (path, "\t".join(COLUMNS)))
        for n, line in enumerate(f, 2):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) != len(COLUMNS):
                sys.exit("manifest %s:%d: %d cells, expected %d" % (path, n, len(cells), len(COLUMNS)))
            r = dict(zip(COLUMNS, cells))
            r["size"] = int(r["size"])
            rows.append(r)
    ids = collections.Counter(r["id"] for r in rows)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        sys.exit("manifest: duplicate ids: %s" % ", ".join(dup))
    return rows


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dest_of(root, r):
    return os.path.join(root, r["machine"], r["toolchain"], r["id"])


def is_tuned(r):
    """Rows the project was tuned on say so first in their notes."""
    return r["notes"].startswith("tuned-on")


def run(cmd, cwd=None, env=None, quiet=False):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0 and not quiet:
        sys.stderr.write("$ %s\n%s\n" % (" ".join(cmd), p.stdout[-4000:]))
    return p


class Fetcher:
    def __init__(self, root, work, verbose):
        self.root, self.work, self.verbose = root, work, verbose
        self.failed = []      # (row, reason)
        self.fetched = []
        self.apt_updated = False

    def log(self, msg):
        print(msg, flush=True)

    # --- placing one image -------------------------------------------------------------------
    def place(self, r, src_read):
        """src_read(tmp_path) writes the image to tmp_path; then verify and move into place."""
        dest = dest_of(self.root, r)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".part"
        try:
            src_read(tmp)
        except (KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as ex:
            self.fail(r, "not found in the package: %s (%s)" % (r["path"], ex))
            return
        size, digest = os.path.getsize(tmp), sha256(tmp)
        if digest != r["sha256"] or size != r["size"]:
            bad = dest + ".bad"
            os.replace(tmp, bad)
            self.fail(r, "SHA256 MISMATCH: expected %s (%d bytes), got %s (%d bytes); kept as %s"
                      % (r["sha256"], r["size"], digest, size, bad))
            return
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        self.fetched.append(r)

    def fail(self, r, reason):
        self.failed.append((r, reason))
        sys.stderr.write("FAILED %s (%s %s@%s): %s\n" % (r["id"], r["source"], r["package"], r["version"], reason))

    # --- npm ---------------------------------------------------------------------------------
    def npm(self, package, version, rows):
        d = os.path.join(self.work, "npm")
        os.makedirs(d, exist_ok=True)
        p = run(["npm", "pack", "--silent", "--pack-destination", d, "%s@%s" % (package, version)])
        tgz = os.path.join(d, p.stdout.strip().splitlines()[-1]) if p.returncode == 0 and p.stdout.strip() else None
        if not tgz or not os.path.exists(tgz):
            for r in rows:
                self.fail(r, "npm pack %s@%s failed" % (package, version))
            return
        with tarfile.open(tgz, "r:gz") as t:
            for r in rows:
                def read(tmp, r=r):
                    with t.extractfile(r["path"]) as src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                self.place(r, read)
        os.remove(tgz)

    # --- NuGet -------------------------------------------------------------------------------
    def nuget_all(self, groups):
        """groups: {(package, version): rows}. One restore for every package still needed."""
        global_pkgs = os.environ.get("NUGET_PACKAGES") or os.path.expanduser("~/.nuget/packages")
        pending = {}
        for (package, version), rows in groups.items():
            left = []
            for r in rows:  # the user's global packages folder may already hold it (e.g. the test fixture)
                src = os.path.join(global_pkgs, package.lower(), version.lower(), r["path"])
                if os.path.isfile(src) and os.path.getsize(src) == r["size"]:
                    self.place(r, lambda tmp, src=src: shutil.copyfile(src, tmp))
                else:
                    left.append(r)
            if left:
                pending[(package, version)] = left
        if not pending:
            return
        d = os.path.join(self.work, "nuget")
        os.makedirs(d, exist_ok=True)
        items = "\n".join('    <PackageDownload Include="%s" Version="[%s]" />' % k for k in sorted(pending))
        with open(os.path.join(d, "corpus-restore.csproj"), "w") as f:
            f.write('<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n'
                    '    <TargetFramework>net10.0</TargetFramework>\n'
                    '    <DisableImplicitNuGetFallbackFolder>true</DisableImplicitNuGetFallbackFolder>\n'
                    '  </PropertyGroup>\n  <ItemGroup>\n%s\n  </ItemGroup>\n</Project>\n' % items)
        # The project must not inherit the repository's Directory.*.props: it lives in the work dir.
        pkgs = os.path.join(d, "packages")
        env = dict(os.environ, NUGET_PACKAGES=pkgs, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
        self.log("  dotnet restore: %d NuGet packages" % len(pending))
        p = run(["dotnet", "restore", "corpus-restore.csproj", "-nologo", "-v", "quiet"], cwd=d, env=env)
        for (package, version), rows in pending.items():
            base = os.path.join(pkgs, package.lower(), version.lower())
            if not os.path.isdir(base):
                for r in rows:
                    self.fail(r, "dotnet restore did not bring %s %s%s" % (
                        package, version, "" if p.returncode == 0 else " (restore failed, see above)"))
                continue
            for r in rows:
                src = os.path.join(base, r["path"])
                self.place(r, lambda tmp, src=src: shutil.copyfile(src, tmp))

    # --- Debian ------------------------------------------------------------------------------
    def debian(self, package, version, rows):
        d = os.path.join(self.work, "debian")
        os.makedirs(d, exist_ok=True)
        spec = "%s=%s" % (package, version)
        cmd = ["apt-get", "download", "-q", spec]
        if os.geteuid() == 0:  # as root, apt would hand the download to the _apt user, who cannot write here
            cmd[2:2] = ["-o", "APT::Sandbox::User=root"]
        p = run(cmd, cwd=d, quiet=True)
        if p.returncode != 0 and not self.apt_updated and os.geteuid() == 0:
            self.log("  apt-get update (package lists missing or stale)")
            run(["apt-get", "update", "-qq"])
            self.apt_updated = True
            p = run(cmd, cwd=d, quiet=True)
        debs = [f for f in os.listdir(d) if f.startswith(package + "_") and f.endswith(".deb")]
        if p.returncode != 0 or not debs:
            why = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "apt-get download failed"
            for r in rows:
                self.fail(r, "apt-get download %s: %s (is the pinned version still served?)" % (spec, why))
            return
        deb = os.path.join(d, debs[0])
        want = {"./" + r["path"]: r for r in rows}
        found = set()
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
        with tarfile.open(fileobj=proc.stdout, mode="r|") as t:
            for m in t:
                r = want.get(m.name)
                if r is None or not m.isfile():
                    continue
                found.add(m.name)
                src = t.extractfile(m)

                def read(tmp, src=src):
                    with open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                self.place(r, read)
        proc.wait()
        for name, r in want.items():
            if name not in found:
                self.fail(r, "not found in %s" % os.path.basename(deb))
        os.remove(deb)


def main():
    ap = argparse.ArgumentParser(prog="fetch.sh", description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.environ.get("PELINT_CORPUS_DIR") or os.path.expanduser("~/.cache/pelint/corpus"),
                    help="cache directory (default $PELINT_CORPUS_DIR or ~/.cache/pelint/corpus)")
    ap.add_argument("--manifest", default=os.path.join(HERE, "manifest.tsv"))
    ap.add_argument("--machine", action="append", help="x64, arm64, arm64ec, x86 (repeatable or comma-separated)")
    ap.add_argument("--toolchain", action="append", help="msvc, gcc, llvm-rust, llvm-c, go, dart, mixed, unknown")
    ap.add_argument("--source", action="append", help="npm, nuget, debian")
    ap.add_argument("--exclude-tuned", action="store_true", help="skip images the project was tuned on")
    ap.add_argument("--limit", type=int, help="only the first N selected rows (manifest order)")
    ap.add_argument("--list", action="store_true", help="print the cache paths of the selected rows and exit")
    ap.add_argument("--quick", action="store_true", help="trust present images of the right size (no re-hash)")
    ap.add_argument("--jobs", type=int, default=4, help="packages downloaded at once (default 4)")
    ap.add_argument("--keep-work", action="store_true", help="keep downloaded packages in DIR/.work")
    args = ap.parse_args()

    def split(v):
        return {x for a in v for x in a.split(",") if x} if v else None
    machines, toolchains, sources = split(args.machine), split(args.toolchain), split(args.source)
    rows = [r for r in read_manifest(args.manifest)
            if (not machines or r["machine"] in machines)
            and (not toolchains or r["toolchain"] in toolchains)
            and (not sources or r["source"] in sources)
            and not (args.exclude_tuned and is_tuned(r))]
    if args.limit is not None:
        rows = rows[:args.limit]
    root = os.path.abspath(args.dir)
    if args.list:
        for r in rows:
            print(dest_of(root, r))
        return 0

    t0 = time.time()
    os.makedirs(root, exist_ok=True)
    present, needed = [], []
    for r in rows:
        dest = dest_of(root, r)
        ok = os.path.isfile(dest) and os.path.getsize(dest) == r["size"] and (args.quick or sha256(dest) == r["sha256"])
        (present if ok else needed).append(r)
    print("corpus: %d images selected, %d present, %d to fetch, cache %s" % (len(rows), len(present), len(needed), root),
          flush=True)

    tools = {"npm": ["npm"], "nuget": ["dotnet"], "debian": ["apt-get", "dpkg-deb"]}
    missing = sorted({t for r in needed for t in tools[r["source"]] if shutil.which(t) is None})
    if missing:
        print("missing tools: %s: their rows are skipped (fetch.sh installs npm with apt-get when run "
              "as root; the .NET SDK must be installed by hand)" % ", ".join(missing), file=sys.stderr)

    for stale in os.listdir(root):  # left by a run that was killed
        if stale.startswith("work.") and time.time() - os.path.getmtime(os.path.join(root, stale)) > 6 * 3600:
            shutil.rmtree(os.path.join(root, stale), ignore_errors=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the work dir is removed
    work = os.path.join(root, ".work") if args.keep_work else tempfile.mkdtemp(prefix="work.", dir=root)
    os.makedirs(work, exist_ok=True)
    f = Fetcher(root, work, verbose=True)
    groups = collections.OrderedDict()
    for r in needed:
        groups.setdefault((r["source"], r["package"], r["version"]), []).append(r)
    nuget = collections.OrderedDict(((p, v), rs) for (s, p, v), rs in groups.items() if s == "nuget")
    def one(source, package, version, rs):
        f.log("  %s %s@%s: %d image(s)" % (source, package, version, len(rs)))
        getattr(f, source)(package, version, rs)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            jobs = []
            if nuget and "dotnet" not in missing:  # one restore for all NuGet packages, alongside the rest
                jobs.append(pool.submit(f.nuget_all, nuget))
            for (source, package, version), rs in groups.items():
                lacking = [t for t in tools[source] if t in missing]
                if lacking:
                    for r in rs:
                        f.fail(r, "%s not installed" % ", ".join(lacking))
                elif source != "nuget":
                    jobs.append(pool.submit(one, source, package, version, rs))
            for j in jobs:
                j.result()
    finally:
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)

    # summary
    ok_rows = present + f.fetched
    by = collections.Counter((r["machine"], r["toolchain"]) for r in ok_rows)
    total = sum(r["size"] for r in ok_rows)
    print("\n%-8s %-10s %6s" % ("machine", "toolchain", "images"))
    for (m, t), n in sorted(by.items()):
        print("%-8s %-10s %6d" % (m, t, n))
    print("\n%d images present (%d fetched now), %.1f MB, %d failed, %.0f s; cache %s"
          % (len(ok_rows), len(f.fetched), total / 1e6, len(f.failed), time.time() - t0, root))
    if f.failed:
        print("\nFAILED:", file=sys.stderr)
        for r, why in f.failed:
            print("  %s: %s" % (r["id"], why), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
