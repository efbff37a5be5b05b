import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="city")
def greet(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="city")
def fine(city: str) -> str:
    return city
