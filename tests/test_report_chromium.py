"""report.html in headless Chromium (Debian's package): it loads without script errors, every
figure decodes, and the claims table is there; a screenshot of it is not blank."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from sweep_fixtures import SMALL
from theorylab import cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("report") / "run"
    assert cli.main([*SMALL, "--out", str(d)]) == 0
    return d


def _chromium(tmp_path, *args):
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_renders_every_figure_and_the_claims_table(run_dir, tmp_path):
    page = (run_dir / "report.html").as_uri()
    html = (run_dir / "report.html").read_text()
    assert not re.search(r"(src|href)=['\"](?!data:)", html)  # self-contained: nothing to fetch
    dom = _chromium(tmp_path, "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout).group(1)
    summary = json.loads((run_dir / "summary.json").read_text())
    figures = sorted(p.stem for p in (run_dir / "figures").glob("*.png"))
    assert figures == ["phase", "sweep"]  # the experiment's figure and the generic sweep figure
    assert f'data-figures="{len(figures)}"' in body
    assert f'data-figures-loaded="{len(figures)}"' in body  # every <img> decoded in the browser
    assert "data-errors" not in body  # no script error
    claims = re.search(r'<table id="claims">.*?</table>', dom.stdout, re.S).group(0)
    assert claims.count("<tr class=") == len(summary["claims"]) > 0
    for c in summary["claims"]:
        assert f"<td>{c['id']}</td>" in claims
    for section in ('id="timing"', 'id="versions"', 'id="platform"', 'id="config"', 'id="sweep"'):
        assert section in dom.stdout

    shot = tmp_path / "report.png"
    res = _chromium(tmp_path, "--window-size=1200,1800", f"--screenshot={shot}", page)
    assert res.returncode == 0 and shot.stat().st_size > 20_000, res.stderr[-2000:]
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[:2] == (1800, 1200)
    assert np.std(img[..., :3]) > 0.05  # not a blank page: text, tables and figures drew
