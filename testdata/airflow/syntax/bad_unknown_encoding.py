# -*- coding: bogus-enc -*-
OWNER = "data-eng"
