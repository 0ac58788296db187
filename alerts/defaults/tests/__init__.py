"""Rule tests for the default pack (`roompulse rules test`)."""
