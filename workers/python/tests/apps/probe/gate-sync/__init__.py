import threading

from ..shared_code.gate import wait_sync


def main(gate: dict) -> dict:
    word = wait_sync(gate["path"])
    return {"word": word, "thread": threading.current_thread().name}
