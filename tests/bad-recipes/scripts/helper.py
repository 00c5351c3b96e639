"""A helper module shipped next to job.py."""


def double(x):
    return 2 * x
