"""imclab.attribution."""
