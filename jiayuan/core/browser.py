"""Test helper: Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CHROMIUM = os.environ.get("JIAYUAN_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which
# this closed network refuses (slow starts, noisy logs).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def launch(playwright, extra_args: list[str] | None = None):
    """Debian's Chromium; ``extra_args`` e.g. a fake camera (``--use-file-for-fake-video-capture``)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/setup.sh (installs Debian's chromium)")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS + list(extra_args or []),
        headless=True,
        downloads_path=tempfile.gettempdir(),
    )
