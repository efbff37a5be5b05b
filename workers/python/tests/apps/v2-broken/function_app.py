import azure.durable_functions as df

app = df.DFApp()

raise RuntimeError("the app refuses to start")
