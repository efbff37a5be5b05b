def main(value):
    raise ValueError(f"boom: {value}")
