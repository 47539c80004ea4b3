type TaskIds = list[str]
