"""probatio: adapters."""
