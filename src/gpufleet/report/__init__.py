"""Reports: tables for the terminal and files for pandas, polars or DuckDB."""
