"""The consumer's engine, under the Consumer facade (rdpy/consumer.py): `engine.py` (the
ConsumerEngine: one per consumer, owning the Handle and tying the parts together),
`assignment.py` (which partitions are assigned), `fetch.py` (a broker thread's prefetch),
`fetched.py` (fetched data decoded on the application's thread; error events), `cqueue.py`
(the consumer queue poll() reads), `offsets.py` (logical offsets resolved in the background,
offset resets), `lookups.py` (the application's blocking offset lookups), `offset_requests.py`
(ListOffsets and OffsetFetch as the consumer builds and reads them) and `commit.py` (commits).
Nothing here refers to the Consumer facade; group membership is rdpy/client/group/."""
