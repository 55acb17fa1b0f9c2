"""Stage 1, the scenario: what the planner writes, read by a hardened YAML loader and validated by
pydantic models (with the units, distributions and DIDWW cause codes the schema needs)."""
