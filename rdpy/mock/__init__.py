"""rdpy's built-in mock Kafka cluster: real TCP brokers on loopback, served by one thread.

    from rdpy.mock import MockCluster
    from rdpy.protocol.messages.produce import ProduceRequest
    with MockCluster(num_brokers=3) as cluster:
        cluster.create_topic("orders", 2)
        ...  # any Kafka client: bootstrap.servers = cluster.bootstrap_servers
        cluster.partition_set_leader("orders", 0, 2)
        cluster.broker_set_down(2); cluster.broker_set_up(2)
        # the next Produce fails:
        cluster.push_request_errors(ProduceRequest.API_KEY, ErrorCode.NOT_ENOUGH_REPLICAS)
        cluster.set_rtt(1, 200)
        # broker 1 answers its next Produce NOT_LEADER_OR_FOLLOWER 300 ms late, then serves
        # the one after normally but 50 ms late (librdkafka's broker_push_request_error_rtts):
        cluster.broker_push_request_error_rtts(1, ProduceRequest.API_KEY,
                                               (ErrorCode.NOT_LEADER_OR_FOLLOWER, 300), (0, 50))
        cluster.start_request_tracking(); cluster.get_requests()  # (broker_id, api_key, us)
        # move a transactional id's (or a group's) coordinator; the old one answers
        # NOT_COORDINATOR (librdkafka's rd_kafka_mock_coordinator_set):
        cluster.coordinator_set("transaction", "my-txn-id", 2)
        cluster.broker_set_rtt(-1, 100)  # every broker's responses 100 ms late

What it serves (advertised in ApiVersions exactly; see SUPPORTED in handlers/api.py):
ApiVersions 0-3, Metadata 0-12 (auto-creates requested topics), CreateTopics 0-7, Produce 3-9
(v2 RecordBatches validated, offsets assigned, idempotent producers' epochs and sequences
checked), Fetch 4-12 (read_uncommitted up to the high watermark, read_committed up to the last
stable offset with the aborted-transaction list, held up to max_wait_ms until min_bytes
arrive), ListOffsets 1-7 (earliest, latest, by timestamp, max timestamp), FindCoordinator 0-3,
InitProducerId 0-4, AddPartitionsToTxn 0-3, AddOffsetsToTxn 0-3, TxnOffsetCommit 0-3,
EndTxn 0-3 (commit/abort markers written to each partition), the classic group protocol as
Kafka's coordinator runs it (classic_group.py): JoinGroup 0-9 (MEMBER_ID_REQUIRED from v4,
static members, rebalance and session timeouts), SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-5,
DescribeGroups 0-5, ListGroups 0-5, and OffsetCommit 0-8 / OffsetFetch 0-7 with commits checked
against the group's generation and member id (generation -1 from outside an empty group).
`cluster.group_snapshot(group_id)` shows a group's members, generation and assignments.

What it does not: the KIP-848 consumer group protocol, group deletion and offset expiry,
group.max.size, fetch sessions, topic ids in requests, admin APIs beyond CreateTopics, TLS and
SASL, transaction timeouts, replication (every replica is in sync; acks=all == acks=1),
LogAppendTime topics, retention. A request for an API or version it does not advertise is
answered as Kafka answers a request it cannot parse: the connection is closed (ApiVersions
alone answers a too-new version with UNSUPPORTED_VERSION and its own range).
"""

from rdpy.mock.cluster import MockCluster
from rdpy.mock.log import BrokerError

__all__ = ["BrokerError", "MockCluster"]
