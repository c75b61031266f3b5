"""Typical mistakes that raise at run time, each of which `mypy --strict` must reject.

Not collected by pytest (no test_ prefix): tests/unit/test_typing.py type-checks this file and
expects an error on exactly the lines marked `# E`, then calls each function to show that the
mistake raises at run time too. Each function takes the client it misuses.
"""

from __future__ import annotations

from rdpy import Consumer, KafkaError, Message, Producer, TopicPartition


def value_of_type_int(producer: Producer) -> None:
    producer.produce("t", value=42)  # E


def key_of_type_float(producer: Producer) -> None:
    producer.produce("t", key=1.5)  # E


def headers_dict_with_int_values(producer: Producer) -> None:
    producer.produce("t", value=b"v", headers={"trace": 7})  # E


def headers_list_of_bare_strings(producer: Producer) -> None:
    producer.produce("t", value=b"v", headers=["trace"])  # E


def partition_as_str(producer: Producer) -> None:
    producer.produce("t", value=b"v", partition="0")  # E


def callback_taking_one_argument(producer: Producer) -> None:
    def on_delivery(msg: Message) -> None:
        pass

    producer.produce("t", value=b"v", on_delivery=on_delivery)  # E
    producer.flush(10)


def callback_with_arguments_swapped(producer: Producer) -> None:
    def on_delivery(msg: Message, err: KafkaError | None) -> None:
        msg.topic()

    producer.produce("t", value=b"v", on_delivery=on_delivery)  # E
    producer.flush(10)


def poll_timeout_as_str(producer: Producer) -> None:
    producer.poll("1")  # E


def subscribe_to_a_str(consumer: Consumer) -> None:
    consumer.subscribe("t")  # E


def assign_one_partition_not_a_list(consumer: Consumer) -> None:
    consumer.assign(TopicPartition("t", 0))  # E


def watermarks_unpacked_as_three(consumer: Consumer) -> None:
    low, high, extra = consumer.get_watermark_offsets(TopicPartition("t", 0))  # E
