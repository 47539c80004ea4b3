def route(event):
    match event:
        case {"type": "scan", "parcel": parcel_id}:
            return parcel_id
        case ["batch", *rest]:
            return rest
        case str() | bytes():
            return None
        case _:
            return event


match = 3
case = match + 1
