"""Open report.html in a real headless browser (Debian's chromium) at a 1280 px laptop width,
for the default run's 8 frames and for 2,000 frames (a report.json grown from the run's):
no horizontal overflow (a wide table scrolls inside its own box), every image loads, the
summary figures equal report.json's, the per-frame table sorts, every link of the
navigation bar has its section, and the page keeps its height whatever the frame count.
A screenshot of each page is written beside it (and copied to $CANMORE_SCREENSHOTS, if set).

CI installs chromium (.ci/run); elsewhere the test skips when chromium is missing, but under
CI (CI=true) a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .test_report_glance import _main, many_frames, write_report

#: One screen of the 1280 x 900 window; the page may be this many screens tall at most.
SCREEN_PX, MAX_SCREENS = 900, 7

CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const root = document.documentElement;
  const figures = Array.from(document.querySelectorAll('#summary [data-key]')).map(e => (
      {key: e.getAttribute('data-key'), value: e.getAttribute('data-value'),
       text: e.textContent}));
  const table = document.querySelector('#frames-table');
  const hops = Array.from(table.tHead.rows[0].cells).findIndex(c => c.textContent === 'hops');
  const column = () => Array.from(table.tBodies[0].rows).map(r => r.cells[hops].textContent);
  const shown = column();
  table.tHead.rows[0].cells[hops].click();
  const ascending = column();
  table.tHead.rows[0].cells[hops].click();
  const descending = column();
  const tables = Array.from(document.querySelectorAll('table')).map(t => {
    const box = t.parentElement, style = getComputedStyle(box);
    return {fits: t.offsetWidth <= box.clientWidth, scrolls: style.overflowX === 'auto' ||
            style.overflowX === 'scroll', box_right: box.getBoundingClientRect().right};
  });
  const links = Array.from(document.querySelectorAll('nav a')).map(
      a => a.getAttribute('href'));
  const targets = links.filter(h => document.getElementById(h.slice(1)) !== null).length;
  const out = {images: imgs.length,
               loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
               scroll_width: root.scrollWidth, client_width: root.clientWidth,
               height: root.scrollHeight, figures: figures, shown: shown,
               ascending: ascending, descending: descending, tables: tables,
               links: links, targets: targets};
  const pre = document.createElement('pre');
  pre.id = 'check-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail("chromium is not installed, but CI must run the browser test")
    pytest.skip("chromium not installed (CI installs it)")
    return None


def _at(report: dict, key: str) -> float:
    """A figure of report.json by its page key (``mean.energy_total_uj``, ``a/b`` a ratio)."""
    if "/" in key:
        top, bottom = key.split("/")
        return _at(report, top) / _at(report, bottom)
    node = report
    for part in key.split("."):
        node = node[part]
    return float(node)


def _shown(text: str) -> float:
    """The number a summary card shows ("39.57 uJ", "100,023 ns", "12.5%")."""
    match = re.search(r"-?[\d,]*\.?\d+(?:e-?\d+)?", text)
    assert match, text
    value = float(match.group(0).replace(",", ""))
    return value / 100 if text.strip().endswith("%") else value


def _browse(browser: str, profile: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--allow-file-access-from-files",
         "--hide-scrollbars", "--virtual-time-budget=5000", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)


def _check(browser: str, profile: Path, page: Path) -> dict:
    proc = _browse(browser, profile, page, "--window-size=1280,900", "--dump-dom")
    match = re.search(r'<pre id="check-result">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stderr[-2000:]
    return json.loads(html.unescape(match.group(1)))


def _screenshot(browser: str, profile: Path, page: Path, height: int) -> Path:
    """The whole page at 1280 px as a PNG beside it (copied to $CANMORE_SCREENSHOTS)."""
    shot = page.with_name(f"screenshot-{page.parent.name}.png")
    _browse(browser, profile, page, f"--window-size=1280,{min(height, 16000)}",
            f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("CANMORE_SCREENSHOTS"):
        folder = Path(os.environ["CANMORE_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, folder / shot.name)
    return shot


def _check_page(browser: str, profile: Path, folder: Path) -> dict:
    """Every check of one rendered report folder; the measurements."""
    report = json.loads((folder / "report.json").read_text())
    page = (folder / "report.html").read_text()
    n_images = page.count("<img ")
    assert n_images >= 6 and "http://" not in page and "https://" not in page  # self-contained
    (folder / "check.html").write_text(page.replace("</body>", CHECK))
    good = _check(browser, profile, folder / "check.html")
    assert (good["images"], good["loaded"]) == (n_images, n_images)
    assert good["client_width"] == 1280
    assert good["scroll_width"] <= good["client_width"]  # no horizontal overflow
    for t in good["tables"]:  # each table fits its box, or scrolls inside it
        assert (t["fits"] or t["scrolls"]) and t["box_right"] <= 1280, t
    assert good["links"] and good["targets"] == len(good["links"])  # the navigation bar
    assert good["height"] <= MAX_SCREENS * SCREEN_PX, good["height"]
    figures = {f["key"]: f for f in good["figures"]}
    expected = ["mean.energy_total_uj", "accuracy.quantized", "mapping.cores", "mapping.chips",
                *(f"mean.energy_{t}_uj" for t in report["energy_model"]["terms"])]
    late_key = ("late_share" if "late_share" in report else "mean.late/mean.deliveries"
                if "deliveries" in report["mean"] else "mean.late/mean.packets")
    for key in [*expected, late_key]:
        assert key in figures, key
        truth = _at(report, key)
        assert float(figures[key]["value"]) == pytest.approx(truth, rel=1e-12, abs=1e-15), key
        assert _shown(figures[key]["text"]) == pytest.approx(truth, rel=5e-3, abs=5e-4), key

    def ints(cells: list[str]) -> list[int]:
        return [int(v.replace(",", "")) for v in cells]

    shown = ints(good["shown"])  # clicking a header sorts the rows, again: the other way
    assert len(set(shown)) > 1
    assert ints(good["ascending"]) == sorted(shown)
    assert ints(good["descending"]) == sorted(shown, reverse=True)
    good["screenshot"] = str(_screenshot(browser, profile, folder / "report.html",
                                         good["height"]))
    return good


@pytest.mark.slow
def test_report_html_fits_a_laptop_for_8_and_for_2000_frames(tmp_path) -> None:
    browser = _chromium()
    assert browser is not None
    out = tmp_path / "run"
    assert _main(["map", "--frames", "8", "--out", str(out), "--quiet"]) == 0
    profile = tmp_path / "profile"
    eight = _check_page(browser, profile, out)
    report = json.loads((out / "report.json").read_text())
    big = write_report(tmp_path / "frames2000", many_frames(report, 2000))
    assert _main(["report", str(big)]) == 0
    many = _check_page(browser, profile, big)
    assert many["height"] <= eight["height"] + SCREEN_PX  # the frame count does not grow it
    assert len(many["shown"]) <= 30

    page = (out / "report.html").read_text()  # the checks themselves can fail
    n_images = page.count("<img ")
    (out / "broken.html").write_text(page.replace('src="mapping.png"', 'src="missing.png"')
                                     .replace("</body>", CHECK))
    (out / "wide.html").write_text(page.replace("<h2>", '<div style="width:1500px">x</div><h2>',
                                                1).replace("</body>", CHECK))
    broken = _check(browser, profile, out / "broken.html")
    assert (broken["images"], broken["loaded"]) == (n_images, n_images - 1)
    wide = _check(browser, profile, out / "wide.html")
    assert wide["scroll_width"] > wide["client_width"]
