"""Who is calling the operations API: the platform or one operator (issue #5)."""
