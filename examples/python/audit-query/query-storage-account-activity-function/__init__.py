import json
import os
from azure.data.tables import TableClient
from pathlib import Path

def main(request: dict) -> int:
    start = request['start']
    end   = request['end']

    table_conn_str = get_azure_table_connection_string()
    response = run_query(start, end, table_conn_str)

    return response

def run_query(start, end, table_conn_str) -> int:

    items = []
    client =  TableClient.from_connection_string(conn_str=table_conn_str, table_name="audit") 

    parameters = {
        "start": start,
        "end": end
    }

    query_filter = "PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''"
    entities = client.query_entities(query_filter, parameters=parameters, select='identificationNumber')

    for entity in entities:
        items.append(entity['identificationNumber'])

    return len(set(items))
def get_azure_table_connection_string() -> str:
    return os.environ['AuditTableConnection']
