import logging
import sys


def main(value):
    print("hello from", value)
    print("two", "lines\nin one call")
    print("no newline", end="")
    sys.stderr.write(f"to stderr {value}\n")
    logging.warning("a warning about %s", value)
    logging.getLogger("app.detail").debug("hidden at the default level")
    return value
