"""The listening report as a person sees it: the demo run's page loaded in a real (headless) Chromium."""
import csv
import os
import shutil

import pytest

REPORT_LIMIT_BYTES = 20 * 2 ** 20


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through chromedriver (Debian's chromium and chromium-driver, which make setup installs)."""
    if not shutil.which("chromedriver"):
        pytest.skip("chromedriver is not installed: run make setup as root (Debian's chromium and chromium-driver)")
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                 "--window-size=1200,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    yield driver
    driver.quit()


def test_the_report_loads_plays_and_shows_the_summary_of_its_run(trained_run, browser):
    _, folder, result = trained_run
    report = folder / "evaluation" / "report"
    assert f"listening report: {report / 'index.html'}" in result.stdout.replace("runs/1", str(folder))
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(report) for n in names)
    assert size < REPORT_LIMIT_BYTES
    browser.get((report / "index.html").as_uri())
    browser.implicitly_wait(2)
    audio = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const players = [...document.querySelectorAll('audio')];
        Promise.all(players.map(a => new Promise(resolve => {
            if (a.readyState >= 1) return resolve(a.duration);
            a.addEventListener('loadedmetadata', () => resolve(a.duration));
            a.addEventListener('error', () => resolve(-1));
            a.load();
        }))).then(done);""")
    assert len(audio) == 4 * 5 and all(0 < d < 13 for d in audio), audio  # 4 songs x (mixture, 2 + 2)
    images = browser.execute_script("return [...document.images].map(i => i.complete ? i.naturalWidth : 0)")
    assert len(images) == 5 and all(width > 0 for width in images)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    shown = browser.execute_script("""return [...document.querySelectorAll('table.summary tr[data-key]')].map(
        r => [r.dataset.key, ...[...r.cells].slice(4).map(c => c.textContent)])""")
    with open(folder / "evaluation" / "summary.csv") as handle:
        expected = {f"{r['method']}/{r['dataset']}/{r['source']}": r for r in csv.DictReader(handle)}
    assert {row[0] for row in shown} == set(expected)
    for key, *cells in shown:
        values = [expected[key][f"{m}_{s}"] for m in ("SDR", "SIR", "SAR") for s in ("median", "mean")]
        assert cells == [f"{float(v):.2f}" if v else "-" for v in values], key
    screenshot = report.parent / "screenshot.png"
    browser.save_screenshot(str(screenshot))
    from matplotlib import image
    pixels = image.imread(str(screenshot))
    assert pixels.std() > 0.05  # not a blank page


def test_a_silent_estimate_and_a_long_song_make_a_whole_page(tmp_path):
    """A dead output head (an all-zero estimate) and a song longer than the excerpt, written straight."""
    import numpy as np
    from Evaluation.listening_report import EXCERPT_SECONDS, write_report, write_song_media
    rate, seconds = 22050, 40
    t = np.arange(rate * seconds) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 25))[:, None].astype(np.float32)  # loud from 25 s on
    signals = {"mixture": tone, "estimate vocals": np.zeros_like(tone), "reference vocals": tone}
    media = write_song_media(str(tmp_path), "long song", rate, signals, 4096, "reference vocals")
    start, stop = media["excerpt"]
    assert stop - start == EXCERPT_SECONDS and start >= 25 - 1
    row = {"track": "long song", "dataset": "demo", "media": media,
           "methods": {"separator": {"vocals": {"SDR": float("nan"), "SIR": None, "SAR": None}}}}
    page = write_report(str(tmp_path), [row], {"separator/all/vocals": {"tracks": 1, "SDR_median": None}},
                        ["vocals"], {"run": "test"})
    text = open(page).read()
    assert text.count("<audio") == 3 and "long song" in text and "nan" not in text.lower().replace("nanmean", "")
    assert all(os.path.isfile(tmp_path / clip) for clip in media["clips"].values())


def test_compare_puts_two_runs_side_by_side_and_names_a_run_without_a_report(trained_run, tmp_path, browser, capsys):
    import Compare
    _, folder, _ = trained_run
    runs = tmp_path / "runs"
    for run_id in ("1", "2"):
        shutil.copytree(folder, runs / run_id, ignore=shutil.ignore_patterns("tensorboard", "checkpoint"))
    assert Compare.main(["--runs", str(runs), "1", "2", "--html", str(tmp_path / "cmp")]) == 0
    page = tmp_path / "cmp" / "index.html"
    assert f"listening comparison: {page}" in capsys.readouterr().out
    browser.get(page.as_uri())
    durations = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(resolve => {
            if (a.readyState >= 1) return resolve(a.duration);
            a.addEventListener('loadedmetadata', () => resolve(a.duration));
            a.addEventListener('error', () => resolve(-1));
            a.load();
        }))).then(done);""")
    assert len(durations) == 4 * 7 and all(d > 0 for d in durations)  # mixture, then 2 runs + reference per source
    differences = browser.execute_script(
        "return [...document.querySelectorAll('table.comparison tr')].slice(1).map(r => r.cells[3].textContent)")
    assert len(differences) == 4 and set(differences) <= {"0.00", "-"}  # the same run twice
    shutil.rmtree(runs / "2" / "evaluation")
    assert Compare.main(["--runs", str(runs), "1", "2", "--html", str(tmp_path / "again")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: run 2 has no listening report") and "Evaluate.py" in err and len(err.splitlines()) == 1
