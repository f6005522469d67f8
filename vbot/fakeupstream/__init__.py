"""A loopback fake upstream speaking the real registries' API shapes, driven by a world file."""

from vbot.fakeupstream.server import FakeUpstream

__all__ = ["FakeUpstream"]
