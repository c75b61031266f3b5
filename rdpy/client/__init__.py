"""Client-side logic: partitioning and (later) the producer and consumer."""
