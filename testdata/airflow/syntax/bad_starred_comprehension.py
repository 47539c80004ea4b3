groups = [["a", "b"], ["c"]]
task_ids = [*g for g in groups]
