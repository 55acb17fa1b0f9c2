"""At the edges: files in and out (atomic output files). A leaf that any stage may import."""
