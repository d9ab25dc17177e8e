"""Lívia: extraction, financing simulation and the stage machine (pure, no I/O)."""
