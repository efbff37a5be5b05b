import azure.functions as func


async def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    res.set(func.HttpResponse(b"\x00\x01binary", status_code=200,
                              mimetype="application/octet-stream"))
