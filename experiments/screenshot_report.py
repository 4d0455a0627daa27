"""Render a cryoctl HTML report in headless Chromium and save a full-page PNG screenshot.

    python experiments/screenshot_report.py results/default_report/report.html -o report.png

Prints one JSON line: the screenshot path, for every <img> (static figure) the size the browser decoded
(naturalWidth x naturalHeight, recorded by the report's own load handler), so a missing or broken
plot shows up as 0 x 0, and for every interactive plotly plot how many SVG elements plotly drew
(0 if it did not render). Exit status 1 if any plot failed, 2 if no Chromium is installed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--virtual-time-budget=20000"]  # let plotly finish drawing before the dump / screenshot


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, tuple[int, int]] = {}
        self.plots: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and "plotly-plot" in (a.get("class") or ""):
            self.plots[a.get("id") or f"plot{len(self.plots)}"] = int(a.get("data-svg-nodes") or 0)
        if tag == "img":
            self.images[a.get("id") or f"img{len(self.images)}"] = (
                int(a.get("data-natural-width") or 0), int(a.get("data-natural-height") or 0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("-o", "--out", type=Path, default=Path("report.png"))
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=4000)
    args = ap.parse_args(argv)
    exe = next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)
    if exe is None:
        print("no chromium binary found (apt-get install chromium)", file=sys.stderr)
        return 2
    url = args.html.resolve().as_uri()
    with tempfile.TemporaryDirectory() as udd:
        base = [exe, *FLAGS, f"--user-data-dir={udd}"]
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=300, check=True)
        subprocess.run(base + [f"--screenshot={args.out.resolve()}", f"--window-size={args.width},{args.height}", url],
                       capture_output=True, timeout=300, check=True)
    parser = _Images()
    parser.feed(dom.stdout)
    print(json.dumps({"screenshot": str(args.out), "images": parser.images, "interactive": parser.plots}))
    ok = all(w > 0 and h > 0 for w, h in parser.images.values()) and all(n > 0 for n in parser.plots.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
