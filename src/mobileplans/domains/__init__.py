"""Business rules, one package per domain. No web or CLI frameworks here."""
