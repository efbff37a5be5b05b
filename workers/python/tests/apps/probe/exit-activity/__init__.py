import os


def main(value):
    os._exit(7)
