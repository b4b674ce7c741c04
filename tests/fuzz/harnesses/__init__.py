"""One module per parser family; each defines ``TestOneInput(data: bytes)`` (docs/fuzzing.md)."""
