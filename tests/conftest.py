"""Shared fixtures: the installed Steerbook kernelspec and kernels started
through jupyter_client, the way every Jupyter front-end starts them."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import socket

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = pathlib.Path(__file__).resolve().parent / "notebooks"
KERNEL_NAME = os.environ.get("STEERBOOK_KERNEL", "steerbook")


@pytest.fixture(scope="session")
def kernelspec():
    """The installed kernelspec (go run ./install --sys-prefix puts it in the venv)."""
    return KernelSpecManager().get_kernel_spec(KERNEL_NAME)


@pytest.fixture(scope="session")
def steerbook_bin(kernelspec) -> str:
    return kernelspec.argv[0]


@pytest.fixture(autouse=True)
def history_file(tmp_path, monkeypatch) -> pathlib.Path:
    """Each test's kernels keep their history in a file of their own
    (STEERBOOK_HISTORY), not in the user's Jupyter data folder."""
    path = tmp_path / "history.jsonl"
    monkeypatch.setenv("STEERBOOK_HISTORY", str(path))
    return path


@pytest.fixture
def kernel_names(tmp_path, kernelspec, monkeypatch):
    """Two copies of the kernelspec, one per interrupt mode, on JUPYTER_PATH."""
    names = {}
    for mode in ("message", "signal"):
        name = f"steerbook-{mode}"
        d = tmp_path / "kernels" / name
        d.mkdir(parents=True)
        spec = json.loads((pathlib.Path(kernelspec.resource_dir) / "kernel.json").read_text())
        spec["interrupt_mode"] = mode
        (d / "kernel.json").write_text(json.dumps(spec))
        names[mode] = name
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path) + os.pathsep + os.environ.get("JUPYTER_PATH", ""))
    return names


@contextlib.contextmanager
def running_kernel(name: str = KERNEL_NAME):
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code: str, timeout: float = 60, **kw):
    """Run code, return (reply content, iopub messages of the request)."""
    outputs = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append, **kw)
    return reply["content"], outputs


def stream_text(outputs, name="stdout") -> str:
    return "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream" and m["content"]["name"] == name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def which(name: str) -> str | None:
    venv_bin = ROOT / ".venv" / "bin" / name
    if venv_bin.exists():
        return str(venv_bin)
    return shutil.which(name)
