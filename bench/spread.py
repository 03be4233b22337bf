"""The spread of several `make bench` runs: `python -m bench.spread run1.txt run2.txt ...` prints
each figure line once, every number in it replaced by `median [min–max]` over the runs (the
figures in docs/benchmarks.md and docs/costs.md are made this way). Lines are matched by their
label (the text before the figures); a label missing from some run is shown with the runs that
have it and their count."""
import re
import statistics
import sys
from collections import OrderedDict

NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
ROW = re.compile(r"^ {2,}(\S.*?)\s{2,}(\S.*)$")
LONG_ROW = re.compile(r"^ {2,}(\S.{56,}?\)) ([-\d{].*)$")   # a label longer than the padding ends with ")"


def rows(text: str):
    section = ""
    for line in text.splitlines():
        if line.startswith("== "):
            section = line[3:]
            continue
        m = LONG_ROW.match(line) or ROW.match(line)
        if m:
            yield (section, m.group(1).strip()), m.group(2)


def _fmt(values: list[float], like: str) -> str:
    decimals = len(like.split(".")[1]) if "." in like else 0
    show = (lambda v: f"{v:,.{decimals}f}") if "," in like else (lambda v: f"{v:.{decimals}f}")
    if len(values) == 1 or min(values) == max(values):
        return show(statistics.median(values))
    return f"{show(statistics.median(values))} [{show(min(values))}–{show(max(values))}]"


def spread(texts: list[str]) -> str:
    seen: "OrderedDict[tuple, list[str]]" = OrderedDict()
    for text in texts:
        for key, value in rows(text):
            seen.setdefault(key, []).append(value)
    out, section = [], None
    for (sec, label), values in seen.items():
        if sec != section:
            out.append(f"\n== {sec}")
            section = sec
        shapes = {NUMBER.sub("#", v) for v in values}
        if len(shapes) != 1:   # not the same shape in every run: show them all
            out.append(f"  {label:<58} " + " | ".join(values))
            continue
        numbers = [[float(n.replace(",", "")) for n in NUMBER.findall(v)] for v in values]
        template = NUMBER.split(values[0])
        merged = [template[0]]
        for i, like in enumerate(NUMBER.findall(values[0])):
            merged.append(_fmt([run[i] for run in numbers], like))
            merged.append(template[i + 1])
        note = "" if len(values) == len(texts) else f"  ({len(values)} of {len(texts)} runs)"
        out.append(f"  {label:<58} {''.join(merged)}{note}")
    return "\n".join(out).lstrip("\n")


if __name__ == "__main__":
    files = sys.argv[1:]
    if not files:
        raise SystemExit("usage: python -m bench.spread RUN.txt [RUN.txt ...]")
    print(f"{len(files)} runs")
    print(spread([open(f, encoding="utf-8").read() for f in files]))
