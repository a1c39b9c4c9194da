"""imclab: Integrated Marketing Communications analysis suite."""

__version__ = "0.1.0"
