# Handles decoding of the raw feed.
# Input is whatever the scanners send.
LABEL = "Café"
