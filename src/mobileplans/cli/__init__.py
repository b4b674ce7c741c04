"""The ``mobileplans`` command line (Typer + Rich)."""
