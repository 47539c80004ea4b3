OWNER = "data-eng"
# -*- coding: latin-1 -*-
LABEL = "Café"
