"""Splits a line into (word, 1) pairs."""
import re

WORD = re.compile(r"[a-z']+")


def tokenize(line):
    for word in WORD.findall(line.lower()):
        yield word, 1
