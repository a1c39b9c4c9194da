"""imclab.review."""
