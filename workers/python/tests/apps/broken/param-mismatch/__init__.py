def main(req, starter):
    return None
