"""Run the notebooks with papermill and build the HTML post-mortem report."""
