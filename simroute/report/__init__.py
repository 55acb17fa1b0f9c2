"""Stage 6, the report: what a person reads (terminal tables)."""
