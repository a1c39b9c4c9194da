"""Channel integration: synergy, overlap and incremental reach, reach and frequency,
journey flow and the plan's funnel, cohort retention.

Each analysis reduces the event tables in the engine (DuckDB or Spark, through Ibis) and
brings back aggregates only; the figures are in :mod:`imclab.plotting.integration`.
"""
