def route(event):
    match event:
        case {"type": "scan"}:
            return "scan"
        case _:
            return None
        case {"type": "drop"}:
            return "drop"
