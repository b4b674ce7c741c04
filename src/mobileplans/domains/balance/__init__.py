"""The broker's GetBalance proxy (spec 1.10, 2.3, 2.9, 7.2 #45): the flyout asks the service,
the service asks the operator's MO API."""
