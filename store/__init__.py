"""probatio: store."""
