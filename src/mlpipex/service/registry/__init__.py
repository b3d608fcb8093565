"""Models, versions, registration, promotion, aliases, search and lineage."""
