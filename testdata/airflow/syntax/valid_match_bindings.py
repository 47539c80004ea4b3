def describe(event):
    match event:
        case {"region": name} | {"zone": name} | [name, *_]:
            return name
        case {"kind": "batch", **rest} if rest:
            return rest
        case ("scan" | "drop") as action:
            return action
        case [_, *_] | {"empty": _}:
            return None
        case other:
            return other
