"""The spread of several `make bench` runs: `python -m bench.spread run1.txt run2.txt ...` prints
each line once, every number that differs between the runs replaced by `median [min–max]` (the
figures in docs/benchmarks.md and docs/costs.md are made this way). Lines pair up by section and
by their text with the numbers left out; a line missing from some runs says in how many it was."""
import re
import statistics
import sys
from collections import OrderedDict

NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def rows(text: str):
    """(section, shape, n-th line of that shape in the section) -> the line. A line's shape is
    the line with its numbers blanked out, so runs' lines pair up whatever the figures were."""
    section, count = "", {}
    for line in text.splitlines():
        if line.startswith("== "):
            section = line[3:]
            yield (section, None, 0), line
            continue
        if not line.strip():
            continue
        shape = NUMBER.sub("#", line)
        n = count[(section, shape)] = count.get((section, shape), 0) + 1
        yield (section, shape, n), line


def _fmt(values: list[float], like: str) -> str:
    decimals = len(like.split(".")[1]) if "." in like else 0
    show = (lambda v: f"{v:,.{decimals}f}") if "," in like else (lambda v: f"{v:.{decimals}f}")
    if min(values) == max(values):
        return like
    return f"{show(statistics.median(values))} [{show(min(values))}–{show(max(values))}]"


def spread(texts: list[str]) -> str:
    """Numbers that differ between runs become `median [min–max]`; the same ones stay as printed."""
    seen: "OrderedDict[tuple, list[str]]" = OrderedDict()
    for text in texts:
        for key, line in rows(text):
            seen.setdefault(key, []).append(line)
    out = []
    for (section, shape, _), lines in seen.items():
        if shape is None:
            out.append("\n" + lines[0])
            continue
        numbers = [NUMBER.findall(line) for line in lines]
        template = NUMBER.split(lines[0])
        merged = [template[0]]
        for i, like in enumerate(numbers[0]):
            merged.append(_fmt([float(run[i].replace(",", "")) for run in numbers], like))
            merged.append(template[i + 1])
        note = "" if len(lines) == len(texts) else f"  ({len(lines)} of {len(texts)} runs)"
        out.append("".join(merged) + note)
    return "\n".join(out).lstrip("\n")


if __name__ == "__main__":
    files = sys.argv[1:]
    if not files:
        raise SystemExit("usage: python -m bench.spread RUN.txt [RUN.txt ...]")
    print(f"{len(files)} runs")
    print(spread([open(f, encoding="utf-8").read() for f in files]))
