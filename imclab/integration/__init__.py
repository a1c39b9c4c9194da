"""Channel integration: synergy, overlap, reach and frequency, journey flow, retention.

Also the plan's funnel and cohort retention.

Each analysis reduces the event tables in the engine (DuckDB or Spark, through Ibis) and
brings back aggregates only; the figures are in :mod:`imclab.plotting.integration`.
"""
