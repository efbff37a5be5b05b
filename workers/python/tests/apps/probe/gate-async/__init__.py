import threading

from ..shared_code.gate import wait_async


async def main(gate: dict) -> dict:
    word = await wait_async(gate["path"])
    return {"word": word, "thread": threading.current_thread().name}
