import sys


def main(value):
    sys.exit(3)
