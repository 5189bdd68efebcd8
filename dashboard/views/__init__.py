"""Read-side pages: every page renders from our database, never from Palette at request time."""
