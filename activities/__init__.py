"""probatio: activities."""
