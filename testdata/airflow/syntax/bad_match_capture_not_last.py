def route(event):
    match event:
        case other:
            return other
        case "scan":
            return "scan"
