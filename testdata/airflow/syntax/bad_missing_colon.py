def build_dag()
    return None
