import pytest

from tests.reports.history import make_history


@pytest.fixture
def history(org, make_lead, reasons):
    return make_history(org, make_lead, reasons)
