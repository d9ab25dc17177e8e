"""The publish/subscribe seam every service talks through.

Two implementations share one interface: `RabbitBus` (FastStream on RabbitMQ, every
mode but embedded) and `InMemoryBus` (the embedded mode). One contract test suite runs
against both so they cannot drift.
"""

from leadflow.bus.base import Bus, Delivery, QueueSpec, RpcTimeout, topic_matches
from leadflow.bus.memory import InMemoryBus

__all__ = ["Bus", "Delivery", "InMemoryBus", "QueueSpec", "RpcTimeout", "topic_matches"]
