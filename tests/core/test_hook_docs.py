"""Every hook is documented, with its exact signature (datasette's test_docs idea)."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from freev2g import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"


def _specs():
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if name.startswith("freev2g_") and callable(fn) and hasattr(fn, "freev2g_spec")
    }


def _documented():
    return dict(re.findall(r"^### (freev2g_\w+)\(([^)]*)\)\s*$", DOC.read_text(), re.M))


def test_there_are_hooks_and_every_one_is_a_spec():
    assert len(_specs()) >= 9


@pytest.mark.parametrize("name", sorted(_specs()))
def test_hook_has_a_docstring_that_says_what_to_return(name):
    doc = inspect.getdoc(_specs()[name]) or ""
    assert len(doc) > 80, f"{name} needs a real docstring"
    assert "return" in doc.lower(), f"{name}: the docstring must say what to return"


@pytest.mark.parametrize("name", sorted(_specs()))
def test_hook_is_documented_with_its_exact_signature(name):
    documented = _documented()
    assert name in documented, f"{name} is missing from docs/plugin_hooks.md"
    params = ", ".join(inspect.signature(_specs()[name]).parameters)
    assert documented[name] == params, f"{name}: docs say ({documented[name]}), code says ({params})"


def test_docs_name_no_hook_that_does_not_exist():
    assert set(_documented()) <= set(_specs())


def test_policy_hooks_are_firstresult_and_others_are_not():
    first = {n for n, fn in _specs().items() if fn.freev2g_spec.get("firstresult")}
    assert first == {"freev2g_authorize", "freev2g_power_limit"}
