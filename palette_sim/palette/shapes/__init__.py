"""The JSON the Palette API answers with, per object (REFERENCE.md 8-12); pure functions of records."""
