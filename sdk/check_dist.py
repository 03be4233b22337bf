"""`make dist`'s last step: the built packages in dist/ hold what a user of each index needs, and
nothing of ours that they should not get. Exits non-zero, naming what is wrong."""
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

DIST = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
problems = []


def one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"check_dist: expected one {pattern} in {DIST}, found {[p.name for p in found]}")
    return found[0]


def need(names: set, wanted: list, where: str):
    for w in wanted:
        if not any(n == w or n.endswith("/" + w) for n in names):
            problems.append(f"{where}: {w} is missing")


wheel = one("infrai_scheduling-*.whl")
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    need(names, ["infrai/__init__.py", "infrai/_client.py", "infrai/webhooks.py", "infrai/py.typed", "LICENSE"],
         wheel.name)
    meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    if meta["Name"] != "infrai-scheduling":
        problems.append(f"{wheel.name}: Name is {meta['Name']!r}, not 'infrai-scheduling'")
    if "from infrai import infra" not in meta.get_payload():
        problems.append(f"{wheel.name}: the long description (sdk/python/README.md) lacks the import line")
    if [n for n in names if n.startswith("tests/") or "/tests/" in n]:
        problems.append(f"{wheel.name}: ships tests")

sdist = one("infrai_scheduling-*.tar.gz")
with tarfile.open(sdist) as t:
    need({m.name for m in t.getmembers()}, ["pyproject.toml", "README.md", "LICENSE", "src/infrai/__init__.py"],
         sdist.name)

npm = one("infrai-sdk-*.tgz")
with tarfile.open(npm) as t:
    names = {m.name for m in t.getmembers()}
    need(names, ["package/package.json", "package/README.md", "package/LICENSE",
                 "package/dist/index.js", "package/dist/index.d.ts",
                 "package/dist/cjs/index.js", "package/dist/cjs/index.d.ts", "package/dist/cjs/package.json"],
         npm.name)
    leaked = [n for n in names if n.startswith(("package/src/", "package/test/", "package/node_modules/"))]
    if leaked:
        problems.append(f"{npm.name}: ships {leaked[:3]}")

if problems:
    raise SystemExit("check_dist:\n  " + "\n  ".join(problems))
print(f"check_dist: {wheel.name}, {sdist.name} and {npm.name} hold what they should")
