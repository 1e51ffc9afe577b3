"""② Time-safe features of declarations: each value uses only what was known before the declaration's date."""
