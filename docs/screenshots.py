"""Screenshots of a built documentation site, taken with headless Chromium.

Build the site first, then::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python docs/screenshots.py docs/_build/html [out_dir]

It captures the user guide (``index.html``), the API page of
``LSTMSequenceClassifier``, the gallery and the quickstart's gallery page
into ``out_dir`` (default ``docs/img/screenshots/``). It builds nothing
itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
#: screenshot file name -> (page of the built site, window height)
PAGES = {
    "user_guide.png": ("index.html", 1600),
    "api_lstm_classifier.png": (
        "generated/seqestimators.LSTMSequenceClassifier.html", 1600),
    "gallery_index.png": ("auto_examples/index.html", 1000),
    # tall enough to reach the results table and the training curves
    "gallery_quickstart.png": ("auto_examples/quickstart.html", 3500),
}
WIDTH = 1280


def chromium_command(
    page: Path, png: Path, profile: Path, height: int = 1600
) -> list[str]:
    """The headless Chromium command line that writes ``png`` of ``page``."""
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{height}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]


def screenshot(
    page: Path, png: Path, height: int = 1600, timeout: float = 120
) -> Path:
    """Write a PNG of one HTML page; raise if Chromium wrote none."""
    if not page.is_file():
        raise FileNotFoundError(f"{page} does not exist: build the site first.")
    png.parent.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    try:
        subprocess.run(
            chromium_command(page, png.resolve(), profile, height),
            capture_output=True, timeout=timeout, check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot of {page}.")
    _shrink(png)
    return png


def _shrink(png: Path, colors: int = 128) -> None:
    """Store the PNG with a palette: a page of text keeps its look at a third
    of the size (skipped without Pillow)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=colors)
    small.save(png, optimize=True)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    site = Path(argv[0])
    out_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).parent / "img" / (
        "screenshots")
    for name, (page, height) in PAGES.items():
        png = screenshot(site / page, out_dir / name, height)
        print(f"{png}: {png.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
