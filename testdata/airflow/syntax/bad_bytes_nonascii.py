# -*- coding: utf-8 -*-
ok = b"caf\xc3\xa9"
bad = b"café"
