"""Device-facing catalog: providers by location, portal launch URLs, SIM resolution."""
