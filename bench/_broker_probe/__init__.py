"""The broker probe of ``bench/balances.py --broker-probe`` (see ``sitecustomize``)."""
