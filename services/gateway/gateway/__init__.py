"""The gateway: the REST surface of CONTRACT.md; authenticates and forwards."""
