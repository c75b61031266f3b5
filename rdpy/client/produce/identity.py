"""Who the producer's batches say they come from (KIP-98): the producer id, epoch and base
sequence in each RecordBatch header, the batch's transactional flag, and the transactional id
of each ProduceRequest. ProduceServer asks one `ProducerIdentity` for all of it, once per batch
on the partition leader's broker thread; nothing else chooses those fields.

`PLAIN_PRODUCER` is what a producer without idempotence writes (no producer id, no epoch, no
sequence, not transactional). idempotence.py's Idempotence is the idempotent producer's (and
txn.py's will be the transactional one's; Producer() refuses transactional.id with
_NOT_IMPLEMENTED until then), given to each broker's role by the producer's role factory:
`ProduceServer(broker, identity)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from rdpy.client.msg import ProducerMessage
    from rdpy.client.toppar import Toppar


class BatchIdentity(NamedTuple):
    """The RecordBatch header fields that name the producer (-1: none)."""

    producer_id: int
    producer_epoch: int
    base_sequence: int
    transactional: bool


#: A producer without idempotence: the header's "no producer" values.
NO_IDENTITY = BatchIdentity(producer_id=-1, producer_epoch=-1, base_sequence=-1,
                            transactional=False)


class ProducerIdentity(Protocol):
    """Where batches get their producer id, epoch and sequence numbers. One per client,
    shared by its broker threads: an implementation keeps what changes (the id and epoch
    after InitProducerId, a partition's sequence base) consistent for them."""

    @property
    def transactional_id(self) -> str | None:
        """The transactional.id every ProduceRequest carries (None: not transactional)."""
        ...

    def batch_identity(self, tp: Toppar, first: ProducerMessage) -> BatchIdentity:
        """Leader's broker thread, no lock. The header of `tp`'s next batch, whose first
        message is `first` (an idempotent producer's base sequence follows from its msgid)."""
        ...


class PlainProducer:
    """A producer without idempotence or transactions."""

    transactional_id: str | None = None

    def batch_identity(self, tp: Toppar, first: ProducerMessage) -> BatchIdentity:
        return NO_IDENTITY


PLAIN_PRODUCER = PlainProducer()

__all__ = ["NO_IDENTITY", "PLAIN_PRODUCER", "BatchIdentity", "PlainProducer", "ProducerIdentity"]
