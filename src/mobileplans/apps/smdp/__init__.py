"""The SM-DP+ (SGP.22 ES2+ and the device download interface)."""
