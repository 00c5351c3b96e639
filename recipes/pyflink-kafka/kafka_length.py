"""Reads messages from a Kafka topic and writes each message's length to another topic."""
import argparse

from pyflink.table import EnvironmentSettings, TableEnvironment


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--source-topic", required=True)
    parser.add_argument("--sink-topic", required=True)
    parser.add_argument("--group-id", default="pyflink-kafka-length")
    args = parser.parse_args()

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.execute_sql(f"""
        CREATE TABLE source (
            message STRING
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{args.source_topic}',
            'properties.bootstrap.servers' = '{args.bootstrap_servers}',
            'properties.group.id' = '{args.group_id}',
            'scan.startup.mode' = 'latest-offset',
            'format' = 'raw'
        )
    """)
    env.execute_sql(f"""
        CREATE TABLE sink (
            message STRING,
            message_length INT
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{args.sink_topic}',
            'properties.bootstrap.servers' = '{args.bootstrap_servers}',
            'format' = 'json'
        )
    """)
    env.execute_sql(
        "INSERT INTO sink SELECT message, CHAR_LENGTH(message) FROM source"
    ).wait()


if __name__ == "__main__":
    main()
