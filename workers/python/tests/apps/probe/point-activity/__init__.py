from ..shared_code.models import Point


def main(point: Point) -> Point:
    return Point(point.x + 1, point.y * 2)
