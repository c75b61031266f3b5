"""A broker connection and the thread that serves it: `broker.py` (the thread, its op queue,
requests and I/O), `setup.py` (connection states and the setup table: CONNECT, TLS, ApiVersions,
SASL), `transport.py` (the non-blocking socket, later its TLS layer). Producer and consumer work
plug in as the broker's roles (`role.py`)."""
