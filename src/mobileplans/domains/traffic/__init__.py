"""Failure percentages of real traffic through the broker (spec 5.3, 7.2 #31; issue #4)."""
