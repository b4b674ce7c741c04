"""Coverage-guided fuzzing (atheris) of every parser that reads outside input (docs/fuzzing.md)."""
