"""The operator conformance kit (issue #9): spec 4.1 / 4.2 test plans as runnable cases.

Like the device simulator it speaks HTTP only: it tests an operator's MO API and portal
over the network, with the client certificate the operator trusts, and writes JUnit,
HTML and JSON evidence (docs/conformance.md).
"""

from mobileplans import __version__

KIT_VERSION = f"mobileplans-conformance/{__version__}"
