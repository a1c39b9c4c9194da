"""Figure functions, one module per domain; each returns the matplotlib Axes it drew on."""
