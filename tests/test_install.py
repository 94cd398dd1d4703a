"""go run ./install really builds the binary and writes a kernelspec that
jupyter lists and can start."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import ROOT, execute, running_kernel, which

pytestmark = pytest.mark.timeout(600)


def test_install_prefix_then_list_and_start(tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    r = subprocess.run(["go", "run", "./install", "--prefix", str(prefix), "--name", "steerbook-test",
                        "--interrupt-mode", "signal"], cwd=ROOT, capture_output=True, text=True, timeout=540)
    assert r.returncode == 0, r.stderr
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "steerbook-test"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"] == [str(spec_dir / "steerbook"), "kernel", "{connection_file}"]
    assert spec["display_name"] == "Go (Steerbook)" and spec["language"] == "go"
    assert spec["interrupt_mode"] == "signal"
    for size in (32, 64):
        assert (spec_dir / f"logo-{size}x{size}.png").read_bytes().startswith(b"\x89PNG")
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    listed = subprocess.run([which("jupyter"), "kernelspec", "list", "--json"], capture_output=True, text=True,
                            check=True, timeout=60, env=dict(os.environ))
    specs = json.loads(listed.stdout)["kernelspecs"]
    assert specs["steerbook-test"]["spec"]["language"] == "go"
    with running_kernel("steerbook-test") as (km, kc):
        reply, outputs = execute(kc, "20 + 22")
        assert reply["status"] == "ok"
        assert [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"] == ["42"]


def test_install_user_honours_jupyter_data_dir(tmp_path):
    data = tmp_path / "data"
    r = subprocess.run(["go", "run", "./install"], cwd=ROOT, capture_output=True, text=True, timeout=540,
                       env=dict(os.environ, JUPYTER_DATA_DIR=str(data)))
    assert r.returncode == 0, r.stderr
    spec = json.loads((data / "kernels" / "steerbook" / "kernel.json").read_text())
    assert spec["interrupt_mode"] == "message"
    assert os.access(spec["argv"][0], os.X_OK)
