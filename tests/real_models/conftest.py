"""Fixtures shared by the real-model tests: the tools they run, or a skip that says what is missing.

Under ctest (EAVE_BUILD_DIR set) a missing `eave` binary is a failure, not a skip: the build
should have made it. Missing ONNX Runtime or models are skips: they come from the network.
"""
import os

import pytest

import catalog  # pytest puts this directory on sys.path (it has no __init__.py)


@pytest.fixture(scope="session")
def ort():
    reason = catalog.ort_unavailable_reason()
    if reason:
        pytest.skip(f"ONNX Runtime unavailable: {reason}")


@pytest.fixture(scope="session")
def eave():
    path = catalog.eave_binary()
    if not path.exists():
        if os.environ.get("EAVE_BUILD_DIR"):
            pytest.fail(f"{path} does not exist although EAVE_BUILD_DIR is set")
        pytest.skip(f"{path} not built (set EAVE_BUILD_DIR or run make)")
    return path

