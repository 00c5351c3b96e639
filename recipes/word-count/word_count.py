"""Counts words in a few lines of text and prints the running counts."""
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

from tokenize_words import tokenize

LINES = [
    "To be, or not to be,--that is the question:--",
    "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune",
    "Or to take arms against a sea of troubles,",
]


def main():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    (
        env.from_collection(LINES, type_info=Types.STRING())
        .flat_map(tokenize, output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .print()
    )
    env.execute("word_count")


if __name__ == "__main__":
    main()
