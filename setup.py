# Only what pyproject.toml cannot say: the cffi out-of-line API module of the C core.
from setuptools import setup

setup(cffi_modules=["core/cext/build_ffi.py:ffibuilder"])
