def main(msg):
    return None
