"""imclab.simulate."""
