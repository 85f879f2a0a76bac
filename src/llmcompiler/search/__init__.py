"""Finding pass lists that beat -Oz: search strategies, minimization, coresets, validation."""
