"""The constructor arguments of Producer and Consumer, taken as confluent-kafka-python takes them.

confluent-kafka's common_conf_setup() accepts `Client(dict)`, `Client(dict, **kwargs)` (the
keyword arguments win) and `Client(**kwargs)`, and refuses anything else with its own TypeError
texts before any property is looked at. Runs on the application's thread, in __init__.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_sasl_credentials", "config_from_args", "require_group_id", "timeout_arg"]


def config_from_args(args: tuple[object, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A fresh dict of the configuration: the positional dict (a copy, so the application's
    stays untouched) updated with the keyword arguments."""
    if len(args) > 1:
        raise TypeError("expected tuple containing single dict")
    if args:
        # A dict (or subclass) only: confluent-kafka's PyDict_Check refuses other mappings,
        # and None, although the stubs' `config=None` suggests otherwise.
        config = args[0]
        if not isinstance(config, dict):
            raise TypeError("expected configuration dict")
        merged = dict(config)
        merged.update(kwargs)
        return merged
    if not kwargs:
        raise TypeError("expected configuration dict")
    return dict(kwargs)


def require_group_id(config: dict[str, Any]) -> None:
    """A consumer needs group.id: checked on the dict, before any property is validated, so a
    configuration lacking it fails with this ValueError whatever else it holds."""
    if "group.id" not in config:
        raise ValueError("Failed to create consumer: group.id must be set")


def timeout_arg(timeout: object) -> float | None:
    """A poll()/flush()/consume() timeout as confluent-kafka's C parser ('d') takes it: a float
    or anything with __float__ or __index__; TypeError("must be real number, not str")
    otherwise. None stays None (rdpy's "forever", as -1)."""
    if timeout is None:
        return None
    cls = type(timeout)
    if cls is float or cls is int:
        return timeout  # type: ignore[return-value]
    if not (hasattr(cls, "__float__") or hasattr(cls, "__index__")):
        raise TypeError(f"must be real number, not {cls.__name__}")
    return float(timeout)  # type: ignore[arg-type]


def check_sasl_credentials(username: object, password: object) -> None:
    """set_sasl_credentials()'s arguments as confluent-kafka's parser ('ss') takes them."""
    for position, value in enumerate((username, password), 1):
        if not isinstance(value, str):
            kind = "None" if value is None else type(value).__name__  # CPython's wording
            raise TypeError(f"argument {position} must be str, not {kind}")
