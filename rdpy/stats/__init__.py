"""Statistics: the schema of the stats_cb JSON document, its validator and rolling windows.

``schema`` declares every field librdkafka's statistics JSON has (rdpy emits the same shape),
``validate`` checks a document against it, ``window`` is librdkafka's rolling latency/size
window (rd_avg_t with an HDR histogram) in pure Python.
"""
