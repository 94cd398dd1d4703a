"""One headless-browser check: JupyterLab 4 on loopback, a notebook opened
and run with Playwright (playwright-core from npm driving Debian's
chromium), and the inline plot present in the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import NOTEBOOKS, ROOT, free_port, which

PLAYWRIGHT = ROOT / ".cache" / "npm" / "node_modules" / "playwright-core"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing_tools():
    missing = [p for p in (str(PLAYWRIGHT), CHROMIUM) if not os.path.exists(p)]
    if not shutil.which("node"):
        missing.append("node")
    if not which("jupyter-lab"):
        missing.append("jupyter-lab")
    return missing


@pytest.mark.timeout(400)
def test_jupyterlab_runs_notebook_with_inline_plot(tmp_path):
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser check cannot run, missing: {missing} (.ci/run installs them)")
        pytest.skip(f"missing {missing}; run bash .ci/run")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "plot.ipynb", root / "plot.ipynb")
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = open(tmp_path / "lab.log", "w")
    lab = subprocess.Popen([which("jupyter-lab"), "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
                            "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                            f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
                            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                           stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if lab.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        shot = ROOT / ".cache" / "jupyterlab-plot.png"
        r = subprocess.run(["node", str(ROOT / "tests" / "browser" / "lab_run.js"), url, "plot.ipynb", str(shot)],
                           env=dict(os.environ, PLAYWRIGHT_CORE=str(PLAYWRIGHT), CHROMIUM=CHROMIUM),
                           capture_output=True, text=True, timeout=330)
        assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n--- lab log ---\n{(tmp_path / 'lab.log').read_text()[-3000:]}"
        assert "plot img" in r.stdout
    finally:
        os.killpg(lab.pid, 15)
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, 9)
            lab.wait()
        log.close()
