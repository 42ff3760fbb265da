"""The version of wsfast, in one place: the build reads it from here
(pyproject.toml, ``[tool.setuptools.dynamic]``) and ``wsfast.__version__``
imports it."""

__version__ = "0.1.0"
