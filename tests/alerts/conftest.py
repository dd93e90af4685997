import pytest

from tests.alerts.receiver import receiver_start


@pytest.fixture
def receiver():
    """A real HTTP receiver on a free loopback port, stopped after the test."""
    receiver, server = receiver_start()
    yield receiver
    server.shutdown()
    server.server_close()
