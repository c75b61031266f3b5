"""The threaded engine behind the facades (rdpy/producer.py, rdpy/consumer.py): the Handle, its
main thread, one thread per broker, and the producer's and consumer's work on them. Only the
facades import it from outside; docs/DESIGN.md ("The engine's structure") maps its modules."""
