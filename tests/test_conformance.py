"""jupyter_kernel_test 0.7.0 against the installed kernelspec, with every
sample attribute filled in. Each sample is self-contained (its own imports):
the tests run in one kernel, in alphabetical order."""

from __future__ import annotations

import unittest

import jupyter_kernel_test as jkt
import pytest

import gocode
from conftest import KERNEL_NAME

pytestmark = pytest.mark.timeout(300)


class SteerbookKernelTests(jkt.KernelTests):
    kernel_name = KERNEL_NAME
    language_name = "go"
    file_extension = ".go"

    code_hello_world = gocode.HELLO
    code_stderr = gocode.STDERR

    completion_samples = [
        {"text": "fun", "matches": ["func"]},
        {"text": 'import "strings"\nstrings.TrimPref', "matches": ["TrimPrefix"]},
        {"text": "conformanceAnswe", "matches": []},
    ]

    complete_code_samples = ["x := 1", "func f() int { return 1 }", 'import "fmt"', "for i := 0; i < 3; i++ {\n}"]
    incomplete_code_samples = ["func f() {", "for i := 0; i < 3; i++ {", "x := []int{1,\n", 'x := `raw']
    invalid_code_samples = ["x := )", "}", "func func"]

    code_generate_error = gocode.ERROR

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "1.5 + 1", "result": "2.5"},
        {"code": 'import "strings"\nstrings.ToUpper("go") == "GO"', "result": "true"},
    ]

    code_display_data = [
        {"code": gocode.HTML, "mime": "text/html"},
        {"code": gocode.PNG_FROM_IMAGE, "mime": "image/png"},
    ]

    code_history_pattern = "6 * ?"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = 'import "strings"\nstrings.ToUpper'

    # IPython's help syntax: the doc comes back as a pager payload.
    code_page_something = "strings.ToUpper?"

    code_clear_output = gocode.CLEAR


if __name__ == "__main__":
    unittest.main()
