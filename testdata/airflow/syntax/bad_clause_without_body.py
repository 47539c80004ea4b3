def schedule_for(env):
    if env == "prod":
        return "@daily"
    elif env == "staging":
        # TODO: pick a staging schedule
    else:
        return None
