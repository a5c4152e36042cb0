"""Open report.html in a real headless browser (Debian's chromium) at a 1280 px laptop width:
no horizontal overflow, every image loads, the summary figures equal report.json's, and the
tables sort.

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

import pytest

from canmore_sim.cli.main import main

CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const root = document.documentElement;
  const figures = Array.from(document.querySelectorAll('#summary [data-key]')).map(e => (
      {key: e.getAttribute('data-key'), value: e.getAttribute('data-value'),
       text: e.textContent}));
  const table = document.querySelector('table.sortable');
  const hops = Array.from(table.tHead.rows[0].cells).findIndex(c => c.textContent === 'hops');
  const column = () => Array.from(table.tBodies[0].rows).map(r => r.cells[hops].textContent);
  table.tHead.rows[0].cells[hops].click();
  const ascending = column();
  table.tHead.rows[0].cells[hops].click();
  const descending = column();
  const out = {images: imgs.length,
               loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
               scroll_width: root.scrollWidth, client_width: root.clientWidth,
               figures: figures, ascending: ascending, descending: descending};
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


@pytest.mark.slow
def test_report_html_fits_a_laptop_loads_every_image_and_matches_report_json(tmp_path) -> None:
    browser = _chromium()
    out = tmp_path / "run"
    assert main(["map", "--frames", "2", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    page = (out / "report.html").read_text()
    n_images = page.count("<img ")
    assert n_images >= 6 and "http://" not in page and "https://" not in page  # self-contained
    (out / "check.html").write_text(page.replace("</body>", CHECK))
    (out / "broken.html").write_text(page.replace('src="mapping.png"', 'src="missing.png"')
                                     .replace("</body>", CHECK))
    (out / "wide.html").write_text(page.replace("<h2>", '<div style="width:1500px">x</div><h2>',
                                                1).replace("</body>", CHECK))
    profile = tmp_path / "profile"

    def check(name: str) -> dict:
        proc = subprocess.run(
            [str(browser), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--allow-file-access-from-files",
             "--window-size=1280,900", "--hide-scrollbars", "--virtual-time-budget=5000",
             "--dump-dom", (out / name).as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
        match = re.search(r'<pre id="check-result">(.*?)</pre>', proc.stdout, re.S)
        assert match, proc.stderr[-2000:]
        return json.loads(html.unescape(match.group(1)))

    good = check("check.html")
    assert (good["images"], good["loaded"]) == (n_images, n_images)
    assert good["client_width"] == 1280
    assert good["scroll_width"] <= good["client_width"]  # no horizontal overflow
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

    hops = report["frames"]["hops"]  # clicking a header sorts the rows, again: the other way
    assert len(set(hops)) == len(hops) > 1
    assert ints(good["ascending"]) == sorted(hops)
    assert ints(good["descending"]) == sorted(hops, reverse=True)

    broken = check("broken.html")  # the checks themselves can fail
    assert (broken["images"], broken["loaded"]) == (n_images, n_images - 1)
    wide = check("wide.html")
    assert wide["scroll_width"] > wide["client_width"]
