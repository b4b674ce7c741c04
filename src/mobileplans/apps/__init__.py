"""One ASGI app per deployable. HTTP concerns only: parse, call one service, return a schema."""
