"""Statistics: what the stats_cb JSON document is, independent of the engine that fills it.

``schema`` declares every field librdkafka's statistics JSON has (rdpy emits the same shape),
``shape`` writes collected values as that document, ``validate`` checks a document against it,
``window`` is librdkafka's rolling latency/size window (rd_avg_t with an HDR histogram) in pure
Python, and ``counters`` the measurement points the engine's threads feed. A leaf: nothing here
imports rdpy.client; the collector that reads the running client is rdpy/client/stats_collect.py.
No threads of its own; each module says which thread may call what.
"""
