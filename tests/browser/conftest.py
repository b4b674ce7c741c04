"""Fixtures every console browser test uses: the console app and its served URL."""

from tests.apps.console.conftest import console  # noqa: F401 - the fixture
from tests.browser.console_support import served  # noqa: F401 - the fixture
