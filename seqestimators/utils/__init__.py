"""Internal helpers: the CPU runtime settings, the compat module, validation."""
