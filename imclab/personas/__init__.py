"""imclab.personas."""
