"""imclab.situation."""
