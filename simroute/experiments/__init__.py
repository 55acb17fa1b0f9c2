"""Stage 5, experiments: many runs of one scenario (replications, batch means), their confidence
intervals, and the event budget checked before a run starts."""
