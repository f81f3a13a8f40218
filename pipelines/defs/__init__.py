"""Asset, check and automation definitions, one package per domain."""
