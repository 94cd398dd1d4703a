"""Writes the test notebooks (run once by hand; the .ipynb files are committed).

    .venv/bin/python tests/notebooks/make_notebooks.py
"""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).parent
DISPLAY = "github.com/steerbook/steerbook/kernel/display"
META = {
    "kernelspec": {"name": "steerbook", "display_name": "Go (Steerbook)", "language": "go"},
    "language_info": {"name": "go", "file_extension": ".go", "mimetype": "text/x-go"},
}


def write(name, cells):
    nb = new_notebook(cells=cells, metadata=META)
    for i, c in enumerate(nb.cells):
        c.id = f"{name}-{i}"
    nbformat.validate(nb)
    nbformat.write(nb, HERE / f"{name}.ipynb")


write("basic", [
    new_markdown_cell("# Basic\nParameters, output, a value, rich display."),
    new_code_cell('var greeting = "hello"\nvar n = 2', metadata={"tags": ["parameters"]}),
    new_code_cell('import (\n\t"fmt"\n\t"strings"\n)\n\nfmt.Println(strings.TrimSpace(strings.Repeat(greeting+" ", n)))'),
    new_code_cell("n * 10"),
    new_code_cell(f'import "{DISPLAY}"\n\ndisplay.HTML("<b>" + greeting + "</b>")'),
])

write("plot", [
    new_markdown_cell("# Plot\nA gonum/plot figure shown inline."),
    new_code_cell(
        "import (\n"
        '\t"gonum.org/v1/plot"\n'
        '\t"gonum.org/v1/plot/plotter"\n'
        f'\t"{DISPLAY}"\n'
        ")\n\n"
        "p := plot.New()\n"
        'p.Title.Text = "squares"\n'
        "pts := make(plotter.XYs, 10)\n"
        "for i := range pts {\n"
        "\tpts[i].X = float64(i)\n"
        "\tpts[i].Y = float64(i * i)\n"
        "}\n"
        "line, err := plotter.NewLine(pts)\n"
        "if err != nil {\n\tpanic(err)\n}\n"
        "p.Add(line)\n"
        "display.Plot(p)"
    ),
    new_code_cell('import "fmt"\n\nfmt.Println("plotted")'),
])

write("failing", [
    new_code_cell("x := 1"),
    new_code_cell('import "fmt"\n\nfmt.Println("before the failure", x)\npanic("notebook failure")'),
    new_code_cell('fmt.Println("never printed")'),
])
