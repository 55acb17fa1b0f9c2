"""Stage 3, the records: the engine's packed rows read as columns and as DIDWW-style CDR tables, in
memory or streamed to a file in chunks."""
