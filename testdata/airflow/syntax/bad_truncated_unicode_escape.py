ARROW = "\u219"
