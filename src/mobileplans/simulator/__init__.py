"""Device simulator: imports only kit and config; speaks HTTP to the parts."""
