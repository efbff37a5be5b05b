import os

import azure.functions as func


def main(value, context: func.Context) -> dict:
    return {"invocationId": context.invocation_id, "functionName": context.function_name,
            "directory": context.function_directory.rsplit("/", 1)[-1], "value": value,
            "setting": os.environ.get("PROBE_SETTING"), "cwd": os.path.basename(os.getcwd())}
