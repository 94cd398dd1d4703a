"""The published quickstart (notebooks/01-quickstart.ipynb) through real
Jupyter tools: `jupyter nbconvert --execute` with the installed kernelspec and
papermill with a parameter override. The headless runner (`steerbook run`),
determinism and stale-output checks of every notebook are Go tests in
notebooks/notebooks_test.go.

Each execution must reproduce the committed outputs: streams, results,
Markdown and images byte for byte (progress bars, which carry timing, are left
out of the comparison)."""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess

import pytest

from conftest import KERNEL_NAME, ROOT, which

nbformat = pytest.importorskip("nbformat")

QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
# A few minutes on two cores, bounded so a hung kernel fails the test.
CELL_TIMEOUT = 300
TOTAL_TIMEOUT = 600

pytestmark = pytest.mark.timeout(TOTAL_TIMEOUT + 60)


def jupyter():
    j = which("jupyter")
    if j is None:
        pytest.skip("jupyter is not installed (CI installs it with bash .ci/run)")
    return j


def results(nb):
    """The comparable outputs of every code cell: stream text, execute
    results, Markdown and images. Progress bars (display_data with only
    text/plain and text/html) are timing, not results."""
    out = []
    for c in nb.cells:
        if c.cell_type != "code" or "injected-parameters" in c.metadata.get("tags", []):
            continue
        cell = []
        for o in c.outputs:
            if o.output_type == "stream":
                cell.append((o.name, o.text))
            elif o.output_type in ("execute_result", "display_data"):
                d = o.data
                keep = {k: d[k] for k in ("image/png", "image/svg+xml", "text/markdown") if k in d}
                if o.output_type == "execute_result" or keep:
                    keep.setdefault("text/plain", d.get("text/plain"))
                    cell.append((o.output_type, json.dumps(keep, sort_keys=True)))
            elif o.output_type == "error":
                cell.append(("error", o.ename, o.evalue))
        # Consecutive stream chunks may be split differently by a live kernel.
        merged = []
        for x in cell:
            if merged and x[0] in ("stdout", "stderr") and merged[-1][0] == x[0]:
                merged[-1] = (x[0], merged[-1][1] + x[1])
            else:
                merged.append(x)
        out.append(merged)
    return out


def test_quickstart_nbconvert_matches_published(tmp_path):
    out = tmp_path / "quickstart.nbconvert.ipynb"
    subprocess.run([jupyter(), "nbconvert", "--to", "notebook", "--execute", str(QUICKSTART), "--output", str(out),
                    f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}",
                    f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}"],
                   check=True, timeout=TOTAL_TIMEOUT, capture_output=True)
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == KERNEL_NAME
    got, want = results(nb), results(nbformat.read(QUICKSTART, as_version=4))
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"code cell {i}: nbconvert output differs from the published notebook"
    pngs = [o.data["image/png"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type in ("display_data", "execute_result") and "image/png" in o.data]
    assert len(pngs) >= 2
    assert all(base64.b64decode(p).startswith(b"\x89PNG") for p in pngs)


def test_quickstart_papermill_parameter_override(tmp_path):
    jupyter()
    pm = pytest.importorskip("papermill")
    from test_notebooks import register_go_translator

    register_go_translator()
    out = tmp_path / "quickstart.papermill.ipynb"
    pm.execute_notebook(str(QUICKSTART), str(out), parameters={"strength": 0.25, "maxNew": 6},
                        kernel_name=KERNEL_NAME, language="go", progress_bar=False,
                        execution_timeout=CELL_TIMEOUT, cwd=str(QUICKSTART.parent))
    nb = nbformat.read(out, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    i = tags.index(["parameters"])
    assert "injected-parameters" in tags[i + 1]
    assert "strength = 0.25" in "".join(nb.cells[i + 1].source)
    text = "".join(o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
    # The steering cell labels its rows with the strength it used.
    assert "+0.25" in text and "-0.25" in text, text[-2000:]
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
