"""The reference mobile operator ("Contoso Cellular"): MO Direct portal, MO API, ES2+ callback."""
