"""The web side's own defences: no caching of signed-in pages, idle sessions, failed-login lockout."""
