"""A loopback fake upstream speaking the real registries' API shapes, driven by a world file."""

from vbot.testing.fakeupstream.server import FakeUpstream

__all__ = ["FakeUpstream"]
