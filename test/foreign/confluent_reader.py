"""Reads journeyline's topics as a client that is not ours would: Confluent's own Python client
(confluent-kafka's AvroDeserializer with its schema registry client, fastavro underneath).

Usage: confluent_reader.py BOOTSTRAP REGISTRY_URL TOPIC...
Reads each topic from its beginning to its end (read_committed: to the last committed record),
within 60 s, and prints one JSON line per record: {"topic", "key", "value"}, where a value's datetimes, dates, decimals and
UUIDs are written as {"$type": "...", "text": "..."} so the caller sees what the client decoded.
"""
import datetime
import decimal
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def typed(value):
    if isinstance(value, datetime.datetime):
        return {"$type": "datetime", "text": value.isoformat(), "tz": str(value.tzinfo)}
    if isinstance(value, datetime.date):
        return {"$type": "date", "text": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$type": "decimal", "text": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$type": "uuid", "text": str(value)}
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(v) for v in value]
    return value


def main(bootstrap, registry_url, topics):
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    for topic in topics:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"foreign-reader-{uuid.uuid4()}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        consumer.subscribe([topic])
        partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        at_end, deadline = set(), time.monotonic() + 60
        while len(at_end) < partitions:
            if time.monotonic() > deadline:
                raise SystemExit(f"{topic}: not at the end of {partitions - len(at_end)} partition(s) after 60 s")
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                    continue
                raise RuntimeError(f"{topic}: {message.error()}")
            value = deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
            key = message.key().decode("utf-8") if message.key() is not None else None
            print(json.dumps({"topic": topic, "key": key, "value": typed(value)}, ensure_ascii=False), flush=True)
        consumer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
