def banner(title, width, fill):
    return f"{title:{fill}^{width:{fill}}}"
