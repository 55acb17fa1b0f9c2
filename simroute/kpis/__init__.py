"""Stage 4, the KPIs: the rules that turn records (or rows counted live) into summary.json, occupancy,
costs, and the :class:`~simroute.kpis.result.Result` a run returns."""
