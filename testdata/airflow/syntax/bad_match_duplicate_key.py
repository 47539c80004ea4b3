def route(event):
    match event:
        case {"type": "scan", "type": "drop"}:
            return None
