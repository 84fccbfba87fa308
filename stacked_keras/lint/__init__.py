"""The linter: finds broken vertical connections in stacked recurrent models."""
