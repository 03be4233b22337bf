"""The Lambda deployment zip, read as Lambda would load it: which compiled modules it carries and
for which machine (the ELF header), and which wheels it was built from (their WHEEL tags)."""
import base64
import hashlib
import re
import struct
import zipfile
from pathlib import Path

# Lambda's architecture names -> the ELF e_machine a shared object for it carries.
ELF_MACHINE = {"arm64": 183, "x86_64": 62}      # EM_AARCH64, EM_X86_64
ELF_MACHINE_NAMES = {183: "aarch64", 62: "x86_64"}
# glibc of the Lambda Python runtimes (Amazon Linux 2 up to 3.11, Amazon Linux 2023 after):
# a manylinux wheel tagged above it does not load.
RUNTIME_GLIBC = {"python3.11": (2, 26), "python3.12": (2, 34), "python3.13": (2, 34)}
CRYPTOGRAPHY_RUST = "cryptography/hazmat/bindings/_rust.abi3.so"


def elf_machine(data: bytes) -> int:
    """e_machine of a 64-bit little-endian ELF file (what Linux on x86_64 and arm64 loads)."""
    assert data[:4] == b"\x7fELF", "not an ELF file"
    assert data[4] == 2 and data[5] == 1, "not a 64-bit little-endian ELF file"
    return struct.unpack_from("<H", data, 18)[0]


def compiled_modules(zip_path: Path) -> dict[str, int]:
    """Every shared object in the zip -> its ELF machine."""
    with zipfile.ZipFile(zip_path) as z:
        return {n: elf_machine(z.read(n)[:64]) for n in z.namelist() if re.search(r"\.so(\.|$)", n)}


def wheel_tags(zip_path: Path, distribution: str) -> list[str]:
    """The `Tag:` lines of a distribution's WHEEL file in the zip (what pip unpacked it from)."""
    with zipfile.ZipFile(zip_path) as z:
        (wheel,) = [n for n in z.namelist()
                    if re.fullmatch(rf"{distribution}-[^/]+\.dist-info/WHEEL", n, re.IGNORECASE)]
        return [line.split(":", 1)[1].strip() for line in z.read(wheel).decode().splitlines()
                if line.startswith("Tag:")]


def manylinux_glibc(platform_tag: str) -> tuple[int, int]:
    """manylinux2014_aarch64 -> (2, 17); manylinux_2_28_aarch64 -> (2, 28)."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_\w+", platform_tag)
    if m:
        return int(m[1]), int(m[2])
    return legacy[platform_tag.split("_", 1)[0]]


def code_sha256(zip_path: Path) -> str:
    """The CodeSha256 Lambda reports for a function whose code is this zip."""
    return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
