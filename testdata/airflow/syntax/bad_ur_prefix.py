PATTERN = ur"\d+"
