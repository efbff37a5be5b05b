import azure.functions as func


def main(req: func.HttpRequest):
    return {"a": 1}
