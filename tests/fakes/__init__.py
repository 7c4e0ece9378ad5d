"""Local stand-ins for the external services, served as real HTTP servers on loopback ports."""
