"""A custom class that travels between functions the way the Durable Functions SDK encodes it."""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    @staticmethod
    def to_json(obj):
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data):
        return Point(data["x"], data["y"])
