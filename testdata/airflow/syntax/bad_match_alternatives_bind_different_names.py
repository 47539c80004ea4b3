def region_of(event):
    match event:
        case {"region": region} | {"zone": zone}:
            return region
        case _:
            return None
