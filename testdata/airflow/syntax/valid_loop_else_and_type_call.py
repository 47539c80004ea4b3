# A break in an inner loop's else clause leaves the outer loop, and
# `type(obj).attr = value` is an assignment, not a PEP 695 type statement.
def first_free(slots, taken):
    for slot in slots:
        for t in taken:
            if t == slot:
                break
        else:
            break
    return slot


class Sig:
    pass


type(Sig()).__doc__ = "signature"
