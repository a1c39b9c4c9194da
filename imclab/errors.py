"""Exceptions raised by imclab; every message names the file, column or key at fault."""


class ImclabError(Exception):
    """Base class of every error imclab raises on purpose."""


class DataError(ImclabError):
    """A data file is missing, empty, malformed or fails its contract."""


class PlanError(ImclabError):
    """A campaign plan (YAML) is invalid."""


class ParameterError(ImclabError):
    """A notebook or function parameter is unknown or out of range."""
