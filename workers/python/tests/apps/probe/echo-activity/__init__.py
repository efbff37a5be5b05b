print("echo-activity imported")


def main(value):
    return value
