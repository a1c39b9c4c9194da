"""imclab.data."""
