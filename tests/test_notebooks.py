"""Whole notebooks: jupyter nbconvert --execute, papermill with a parameters
cell, and the kernel binary's own headless runner (steerbook run)."""

from __future__ import annotations

import json
import subprocess

import nbformat
import pytest

from conftest import KERNEL_NAME, NOTEBOOKS, which

pytestmark = pytest.mark.timeout(300)


def outputs_of(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind]


def text(o):
    return "".join(o["text"]) if "text" in o else "".join(o["data"]["text/plain"])


def check_basic(nb, greeting="hello", n=2):
    streams = outputs_of(nb, "stream")
    assert any(" ".join([greeting] * n) in text(s) for s in streams), streams
    results = outputs_of(nb, "execute_result")
    assert [text(r) for r in results] == [str(n * 10)]
    html = [d for d in outputs_of(nb, "display_data") if "text/html" in d["data"]]
    assert html and f"<b>{greeting}</b>" in "".join(html[0]["data"]["text/html"])


def test_nbconvert_execute(tmp_path):
    out = tmp_path / "basic.out.ipynb"
    subprocess.run([which("jupyter"), "nbconvert", "--to", "notebook", "--execute",
                    str(NOTEBOOKS / "basic.ipynb"), "--output", str(out),
                    f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}", "--ExecutePreprocessor.timeout=120"],
                   check=True, timeout=240, capture_output=True)
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    check_basic(nb)


def test_nbconvert_plot_to_html(tmp_path):
    subprocess.run([which("jupyter"), "nbconvert", "--to", "html", "--execute",
                    str(NOTEBOOKS / "plot.ipynb"), "--output-dir", str(tmp_path),
                    f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}", "--ExecutePreprocessor.timeout=120"],
                   check=True, timeout=240, capture_output=True)
    html = (tmp_path / "plot.html").read_text()
    assert "data:image/png;base64," in html


def test_nbconvert_stops_on_error(tmp_path):
    r = subprocess.run([which("jupyter"), "nbconvert", "--to", "notebook", "--execute",
                        str(NOTEBOOKS / "failing.ipynb"), "--output", str(tmp_path / "f.ipynb"),
                        f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}"],
                       timeout=240, capture_output=True, text=True)
    assert r.returncode != 0
    assert "notebook failure" in r.stderr


def register_go_translator():
    """papermill has no Go translator; this one writes assignments, which the
    kernel runs against the variables of the parameters cell."""
    from papermill.translators import Translator, papermill_translators

    class GoTranslator(Translator):
        @classmethod
        def translate_str(cls, val):
            return json.dumps(val)  # a JSON string is a valid Go string literal

        @classmethod
        def translate_none(cls, val):
            return "nil"

        @classmethod
        def translate_bool(cls, val):
            return "true" if val else "false"

        @classmethod
        def comment(cls, cmt_str):
            return f"// {cmt_str}".strip()

        @classmethod
        def assign(cls, name, str_val):
            return f"{name} = {str_val}"

    papermill_translators.register("go", GoTranslator)


def test_papermill_injects_parameters(tmp_path):
    import papermill as pm

    register_go_translator()
    out = tmp_path / "basic.pm.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "basic.ipynb"), str(out), parameters={"greeting": "hej", "n": 3},
                        kernel_name=KERNEL_NAME, language="go", progress_bar=False, execution_timeout=120)
    nb = nbformat.read(out, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    i = tags.index(["parameters"])
    assert "injected-parameters" in tags[i + 1]
    check_basic(nb, "hej", 3)


# ---- steerbook run: no Jupyter, no Python at run time.

def test_steerbook_run(tmp_path, steerbook_bin):
    out = tmp_path / "basic.run.ipynb"
    r = subprocess.run([steerbook_bin, "run", str(NOTEBOOKS / "basic.ipynb"), "-o", str(out), "-p", "greeting=hallo",
                        "-p", "n=4"], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "steerbook"
    check_basic(nb, "hallo", 4)
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]
    injected = nb.cells[2]
    assert "injected-parameters" in injected.metadata.tags
    # Deterministic: without timing metadata, two runs write the same bytes.
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    for p in (a, b):
        subprocess.run([steerbook_bin, "run", str(NOTEBOOKS / "basic.ipynb"), "-o", str(p), "--no-timing"],
                       check=True, capture_output=True, timeout=240)
    assert a.read_bytes() == b.read_bytes()


def test_steerbook_run_plot(tmp_path, steerbook_bin):
    out = tmp_path / "plot.run.ipynb"
    r = subprocess.run([steerbook_bin, "run", str(NOTEBOOKS / "plot.ipynb"), "-o", str(out)],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    nb = nbformat.read(out, as_version=4)
    pngs = [d for d in outputs_of(nb, "display_data") if "image/png" in d["data"]]
    assert len(pngs) == 1
    import base64
    assert base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")


def test_steerbook_run_stops_at_first_error(tmp_path, steerbook_bin):
    out = tmp_path / "failing.run.ipynb"
    r = subprocess.run([steerbook_bin, "run", str(NOTEBOOKS / "failing.ipynb"), "-o", str(out)],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 1
    assert "cell 1" in r.stderr and "fmt" in r.stderr, r.stderr
    nb = nbformat.read(out, as_version=4)
    errors = outputs_of(nb, "error")
    assert len(errors) == 1 and "notebook failure" in errors[0]["evalue"]
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None


def test_steerbook_run_bad_notebook(tmp_path, steerbook_bin):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 7}]}')
    r = subprocess.run([steerbook_bin, "run", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert str(bad) in r.stderr and "cells[0].source" in r.stderr
