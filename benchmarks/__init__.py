"""simroute's benchmark package (not part of the test suite): see benchmarks/README.md."""
