import functools


def retry(times):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            return fn(*args, **kwargs)

        return inner

    return wrap


class Loader:
    @staticmethod
    @retry(times=3)
    def load(path: str, /, *, strict: bool = False, **options) -> None:
        return None

    @property
    def name(self) -> str:
        return "loader"


buttons = [lambda x=i: x for i in range(3)]
