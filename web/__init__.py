"""probatio: web."""
