# Only what pyproject.toml cannot say: the cffi out-of-line API module of the C core.
from setuptools import setup

# The wheel is tagged abi3 (the C core uses the limited API from CPython 3.11 on); set here, as
# `[tool.distutils.bdist_wheel]` in pyproject.toml is an experimental setuptools feature.
setup(cffi_modules=["core/cext/build_ffi.py:ffibuilder"], options={"bdist_wheel": {"py_limited_api": "cp311"}})
