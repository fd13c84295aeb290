"""Sources, consent, metadata and the encrypted catalog."""
