"""What `make package` puts in the functions' deployment zip: every third-party module the code
imports (cryptography among them: sealing, at-rest secrets, Ed25519 `v1a` signatures, mTLS PEM
checks), compiled for the architecture the template runs the functions on, not the build
machine's. Reuses the session's packaged prod stage (conftest.py `packaged`)."""
import ast
import importlib.util
import json
import re
import sys
import zipfile

from .bundle import (CRYPTOGRAPHY_RUST, ELF_MACHINE, ELF_MACHINE_NAMES, RUNTIME_GLIBC,
                     compiled_modules, manylinux_glibc, wheel_tags)
from .conftest import PACKAGED_STAGE, ROOT

# Modules the Lambda Python runtime itself provides (boto3 and what it depends on).
RUNTIME_PROVIDED = {"boto3", "botocore", "urllib3", "s3transfer", "jmespath", "dateutil", "six"}


def _functions(sam: dict) -> dict:
    return {name: r["Properties"] for name, r in sam["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"}


def _architecture(sam: dict) -> str:
    archs = {tuple(p["Architectures"]) for p in _functions(sam).values()}
    assert len(archs) == 1, f"the functions share one bundle but not one architecture: {archs}"
    ((arch,),) = archs
    return arch


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _third_party_imports() -> set[str]:
    """Modules app.py and chalicelib import that neither the standard library nor the runtime has
    (lazy imports inside functions included)."""
    found = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module)
                # `from cryptography import x509`: a submodule (as the dev venv's copy has it)
                found.update(f"{node.module}.{a.name}" for a in node.names
                             if _is_module(f"{node.module}.{a.name}"))
    return {m for m in found if m.split(".")[0] not in
            sys.stdlib_module_names | RUNTIME_PROVIDED | {"chalicelib"}}


def test_the_functions_run_on_the_configured_architecture(packaged):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    configured = config["stages"][PACKAGED_STAGE]["lambda_architecture"]
    assert configured == "arm64"
    assert _architecture(packaged["sam"]) == configured
    assert {p["CodeUri"] for p in _functions(packaged["sam"]).values()} == {"./deployment.zip"}


def test_every_module_the_code_imports_is_in_the_bundle(packaged):
    with zipfile.ZipFile(packaged["dir"] / "deployment.zip") as z:
        names = set(z.namelist())
    imports = _third_party_imports()
    assert {"cryptography.hazmat.primitives.ciphers.aead", "cryptography.x509",
            "aws_lambda_powertools"} <= imports

    def bundled(module: str) -> bool:
        path = module.replace(".", "/")
        return (f"{path}.py" in names or f"{path}/__init__.py" in names
                or any(re.fullmatch(rf"{re.escape(path)}\.[\w.-]*so", n) for n in names))

    assert sorted(m for m in imports if not bundled(m)) == []


def test_compiled_modules_are_built_for_the_functions_architecture(packaged):
    zip_path = packaged["dir"] / "deployment.zip"
    machine = ELF_MACHINE[_architecture(packaged["sam"])]
    modules = compiled_modules(zip_path)
    assert modules[CRYPTOGRAPHY_RUST] == machine == 183, "cryptography's Rust core, for AArch64"
    assert any(n.startswith("_cffi_backend.") for n in modules), "cffi, cryptography's dependency"
    wrong = {n: ELF_MACHINE_NAMES.get(m, m) for n, m in modules.items() if m != machine}
    assert wrong == {}, "a compiled module Lambda cannot load on this architecture"
    assert not [n for n in modules if "x86_64" in n], "no x86_64 copy of any module"


def test_compiled_wheels_load_on_the_runtimes_glibc(packaged):
    zip_path = packaged["dir"] / "deployment.zip"
    (runtime,) = {p["Runtime"] for p in _functions(packaged["sam"]).values()}
    glibc = RUNTIME_GLIBC[runtime]
    machine = ELF_MACHINE_NAMES[ELF_MACHINE[_architecture(packaged["sam"])]]
    python = "cp" + runtime.removeprefix("python").replace(".", "")
    for dist in ("cryptography", "cffi"):
        tags = [t.split("-") for t in wheel_tags(zip_path, dist)]
        assert tags, dist
        for interpreter, abi, platform in tags:
            assert interpreter == python and abi in ("abi3", python), (dist, runtime, interpreter, abi)
            assert platform.endswith(f"_{machine}"), (dist, platform)
        assert min(manylinux_glibc(p) for _, _, p in tags) <= glibc, (dist, runtime, tags)


def test_the_bundle_carries_the_pinned_versions(packaged):
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert {"cryptography", "cffi"} <= set(pins)
    with zipfile.ZipFile(packaged["dir"] / "deployment.zip") as z:
        dist_infos = {n.split("/", 1)[0].lower() for n in z.namelist() if ".dist-info/" in n}
    for name, version in pins.items():
        assert f"{name.replace('-', '_').lower()}-{version}.dist-info" in dist_infos, (name, version)
