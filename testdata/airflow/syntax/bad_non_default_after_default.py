def make(dag_id="x", schedule):
    return dag_id
