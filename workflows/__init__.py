"""probatio: workflows."""
