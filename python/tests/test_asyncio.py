"""Runs the asyncio cases (asyncio_cases.py), each in a pytest subprocess:
the event-loop implementation is process-wide and the first registration
wins, and this process uses the library's default loop."""

import ast
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_FILE = os.path.join(HERE, "asyncio_cases.py")


def _cases():
    with open(CASES_FILE, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


@pytest.mark.parametrize("case", _cases())
def test_asyncio_case(case):
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{CASES_FILE}::{case}"]
    proc = subprocess.run(argv, cwd=HERE, env=dict(os.environ), capture_output=True, text=True, timeout=40)
    assert proc.returncode == 0, f"{case} failed in its subprocess:\n{proc.stdout}\n{proc.stderr}"
